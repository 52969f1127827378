"""QMP commands on the QEMU that runs this guest, for Python guest tests.

The file bridge of tests/harness/qmp-agent.py, as tests/harness/guest/knpu-qmp
(shell) and tests/kernel/knpu-qmp.h (C) speak it: a request appears whole as
$KNPU_RESULTS/.knpu/qmp/req-ID.json (written under another name, then
renamed) and the agent answers in resp-ID.json the same way. Spoken here
rather than through the shell helper: its forks and execs cost seconds a
command on the debug kernel.
"""
import itertools
import json
import os
import pathlib
import time

# The agent answers within 20 ms; a loaded debug guest reads it late.
TIMEOUT_S = 30
_sequence = itertools.count()


def command(execute, **arguments):
    """Runs one QMP command; returns QEMU's answer (a dict), or None if the
    agent did not answer. Raises KeyError outside a knpu guest."""
    bridge = pathlib.Path(os.environ["KNPU_RESULTS"]) / ".knpu" / "qmp"
    request = {"execute": execute}
    if arguments:
        request["arguments"] = arguments
    ident = f"{os.getpid()}-{next(_sequence)}-{time.monotonic_ns()}"
    partial = bridge / f".req-{ident}"
    partial.write_text(json.dumps(request) + "\n")
    partial.rename(bridge / f"req-{ident}.json")
    answer = bridge / f"resp-{ident}.json"
    deadline = time.monotonic() + TIMEOUT_S
    while time.monotonic() < deadline:
        try:
            text = answer.read_text()
        except FileNotFoundError:
            time.sleep(0.01)
            continue
        answer.unlink()
        return json.loads(text)
    return None


def qom_set(device, prop, value):
    """Sets a property of a device (knpu0, knpu1, ...); True when QEMU returned."""
    answer = command("qom-set", path=f"/machine/peripheral/{device}", property=prop,
                     value=value)
    return answer is not None and "return" in answer
