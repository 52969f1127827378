#!/usr/bin/env python3
"""Host side of the guest's QMP bridge (started by guest-run.sh).

The guest cannot reach QEMU's monitor, but fault-injection tests need it
(docs/hw-spec.md section 10: `qom-set` on the device at run time). The guest
writes a request, one QMP command as JSON, to DIR/req-ID.json (written under
another name and renamed, so it appears whole); this agent sends it on the QMP
socket and writes QEMU's answer to DIR/resp-ID.json the same way. DIR is the
results directory's .knpu/qmp/, shared with the guest over 9p.

Guest helpers: tests/harness/guest/knpu-qmp (shell), tests/kernel/knpu-qmp.h
(C test programs), tests/harness/guest/knpu_qmp.py (Python tests).  Log:
DIR/agent.log.

Usage: qmp-agent.py SOCKET DIR
"""
import json
import os
import select
import socket
import sys
import time


class Qmp:
    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(path)
        self.buf = b""
        self.read()  # greeting
        self.command({"execute": "qmp_capabilities"})

    def read(self):
        while b"\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("QMP socket closed")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def command(self, cmd):
        self.sock.sendall(json.dumps(cmd).encode() + b"\n")
        while True:
            msg = self.read()
            if "return" in msg or "error" in msg:
                return msg


def write_atomic(path, text):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.rename(tmp, path)


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    sock_path, qdir = sys.argv[1], sys.argv[2]
    os.makedirs(qdir, exist_ok=True)
    log = open(os.path.join(qdir, "agent.log"), "a", buffering=1)
    qmp = None
    for _ in range(600):  # QEMU creates the socket when it starts
        try:
            qmp = Qmp(sock_path)
            break
        except (FileNotFoundError, ConnectionRefusedError, EOFError):
            time.sleep(0.05)
    if qmp is None:
        log.write("cannot connect to %s\n" % sock_path)
        return 1
    log.write("connected\n")
    while True:
        # Idle: wait on the socket, so the agent ends as soon as QEMU exits
        # (EOF); asynchronous events that arrive meanwhile are dropped.
        ready, _, _ = select.select([qmp.sock], [], [], 0.02)
        if ready:
            chunk = qmp.sock.recv(65536)
            if not chunk:
                log.write("QEMU closed the socket\n")
                return 0
            qmp.buf += chunk
            while b"\n" in qmp.buf:
                qmp.buf = qmp.buf.split(b"\n", 1)[1]
        try:
            names = sorted(n for n in os.listdir(qdir) if n.startswith("req-") and n.endswith(".json"))
        except FileNotFoundError:
            return 0
        for n in names:
            req_path = os.path.join(qdir, n)
            resp_path = os.path.join(qdir, "resp-" + n[4:])
            cmd = None
            try:
                with open(req_path) as f:
                    cmd = json.load(f)
                resp = qmp.command(cmd)
            except EOFError:
                return 0
            except (OSError, ValueError) as e:
                resp = {"error": {"class": "AgentError", "desc": str(e)}}
            log.write("%s -> %s\n" % (json.dumps(cmd) if cmd is not None else n, json.dumps(resp)))
            write_atomic(resp_path, json.dumps(resp) + "\n")
            os.unlink(req_path)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (EOFError, BrokenPipeError, ConnectionResetError):
        sys.exit(0)
