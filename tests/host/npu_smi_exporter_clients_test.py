#!/usr/bin/python3
"""host.npu-smi.exporter-clients: npu-smi exporter, on a host without an NPU,
against odd and hostile HTTP clients. It must keep answering scrapes: a
HEAD, an unknown path, a POST, bytes that are not HTTP, connections that
never send a request, and many scrapes at once.

Usage: npu_smi_exporter_clients_test.py NPU_SMI. Exits 0 only if every
check passed.
"""

import concurrent.futures
import http.client
import socket
import subprocess
import sys
import time

NPU_SMI = sys.argv[1]
failed = []


def check(name, condition, detail=""):
    print(f"{'ok' if condition else 'not ok'} - {name} {'' if condition else detail}".rstrip(),
          flush=True)
    if not condition:
        failed.append(name)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


PORT = free_port()


def request(method, path, timeout=15):
    """(status, body) of one request; status None when it failed."""
    c = http.client.HTTPConnection("127.0.0.1", PORT, timeout=timeout)
    try:
        c.request(method, path)
        r = c.getresponse()
        return r.status, r.read().decode(errors="replace")
    except OSError as e:
        return None, str(e)
    finally:
        c.close()


def is_metrics(status, body):
    return status == 200 and "# TYPE knpu_up gauge" in body


exporter = subprocess.Popen([NPU_SMI, "exporter", "--listen", f"127.0.0.1:{PORT}"],
                            stderr=subprocess.DEVNULL)
try:
    deadline = time.time() + 20
    while time.time() < deadline and not is_metrics(*request("GET", "/metrics", timeout=2)):
        time.sleep(0.2)
    check("the exporter serves /metrics", is_metrics(*request("GET", "/metrics")))

    status, body = request("HEAD", "/metrics")
    check("HEAD /metrics: 200 without a body", status == 200 and body == "", f"{status} {body!r}")
    status, body = request("GET", "/no-such-path")
    check("an unknown path: 404", status == 404, f"{status} {body!r}")
    status, body = request("POST", "/metrics")
    check("POST /metrics: refused", status in (404, 405), f"{status} {body!r}")

    with socket.create_connection(("127.0.0.1", PORT), timeout=10) as s:
        s.sendall(b"\x00\xff NOT HTTP\r\n\r\n")
        try:
            answer = s.recv(4096)
        except OSError:
            answer = b""
    check("bytes that are not HTTP: 400 or closed", answer == b"" or b" 400 " in answer,
          repr(answer[:100]))

    # More silent connections than the server has threads (8): each holds a
    # thread until the read timeout.
    idle = [socket.create_connection(("127.0.0.1", PORT), timeout=10) for _ in range(16)]
    started = time.time()
    status, body = request("GET", "/metrics", timeout=30)
    waited = time.time() - started
    for s in idle:
        s.close()
    check("16 silent connections do not hold a scrape back 5 s",
          is_metrics(status, body) and waited < 5, f"{status} after {waited:.1f} s")

    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(lambda _: request("GET", "/metrics", timeout=30), range(32)))
    check("32 scrapes at once all complete", all(is_metrics(s, b) for s, b in answers),
          str([s for s, _ in answers]))
    check("the exporter still runs", exporter.poll() is None)
finally:
    exporter.terminate()
    exporter.wait(timeout=10)
check("SIGTERM stops it with status 0", exporter.returncode == 0, str(exporter.returncode))

print(f"exporter clients: {len(failed)} failed", flush=True)
sys.exit(1 if failed else 0)
