/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * QMP commands on the QEMU that runs this guest, from a guest test program
 * (knpu-smoke.c, knpu-fault-matrix.c): the file bridge of
 * tests/harness/qmp-agent.py, which tests/harness/guest/knpu-qmp also
 * speaks. A request appears whole as $KNPU_RESULTS/.knpu/qmp/req-ID.json
 * (written under another name, then renamed); the agent answers in
 * resp-ID.json the same way. Spoken here rather than through that script:
 * its forks and execs made one command take 1.5-3 s on the idle debug
 * kernel and up to 12 s under the fault matrix's load.
 */
#ifndef KNPU_QMP_H
#define KNPU_QMP_H

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* The agent answers within 20 ms; a loaded debug guest reads it late. */
#define KNPU_QMP_TIMEOUT_MS	30000

static inline int knpu_qmp_write(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	size_t len = strlen(text);
	int ret = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, text, len) != (ssize_t)len)
		ret = -EIO;
	close(fd);
	return ret;
}

/* The answer in resp-ID.json, once the agent has renamed it into place. */
static inline int knpu_qmp_read_answer(const char *path, char *answer, size_t len)
{
	struct timespec poll_interval = { .tv_nsec = 10 * 1000 * 1000 };

	for (int waited = 0; waited < KNPU_QMP_TIMEOUT_MS; waited += 10) {
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		ssize_t n;

		if (fd < 0) {
			nanosleep(&poll_interval, NULL);
			continue;
		}
		n = read(fd, answer, len - 1);
		close(fd);
		unlink(path);
		answer[n > 0 ? n : 0] = '\0';
		return n > 0 ? 0 : -EIO;
	}
	return -ETIMEDOUT;
}

/*
 * Sends the QMP command @json; QEMU's answer goes to @answer (@len bytes,
 * may be NULL). Returns 0 when QEMU returned, -EIO on its error answer,
 * -ETIMEDOUT without an answer, -ENOENT outside a knpu guest.
 */
static inline int knpu_qmp(const char *json, char *answer, size_t len)
{
	static unsigned int sequence;
	const char *results = getenv("KNPU_RESULTS");
	char id[64], tmp[PATH_MAX], req[PATH_MAX], resp[PATH_MAX];
	char text[4096], own[1024];
	struct timespec now;
	int ret;

	if (!results)
		return -ENOENT;
	if (!answer) {
		answer = own;
		len = sizeof(own);
	}
	clock_gettime(CLOCK_REALTIME, &now);
	snprintf(id, sizeof(id), "%d-%u-%ld", getpid(), sequence++, now.tv_nsec);
	if (snprintf(tmp, sizeof(tmp), "%s/.knpu/qmp/.req-%s", results, id) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	snprintf(req, sizeof(req), "%s/.knpu/qmp/req-%s.json", results, id);
	snprintf(resp, sizeof(resp), "%s/.knpu/qmp/resp-%s.json", results, id);
	snprintf(text, sizeof(text), "%s\n", json);
	ret = knpu_qmp_write(tmp, text);
	if (!ret && rename(tmp, req))
		ret = -errno;
	if (ret) {
		unlink(tmp);
		return ret;
	}
	ret = knpu_qmp_read_answer(resp, answer, len);
	if (ret)
		return ret;
	return strstr(answer, "\"return\"") ? 0 : -EIO;
}

/* qom-set of @property of device @qdev (knpu0, ...) to the JSON @value. */
static inline int knpu_qom_set(const char *qdev, const char *property, const char *value)
{
	char json[512];

	snprintf(json, sizeof(json),
		 "{\"execute\": \"qom-set\", \"arguments\": {\"path\": "
		 "\"/machine/peripheral/%s\", \"property\": \"%s\", \"value\": %s}}",
		 qdev, property, value);
	return knpu_qmp(json, NULL, 0);
}

#endif /* KNPU_QMP_H */
