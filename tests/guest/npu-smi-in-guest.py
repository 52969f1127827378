#!/usr/bin/python3
"""Runs inside the guest (see npu-smi-test.sh) with two NPUs.

Every npu-smi output format is parsed back and checked against the device's
own values in sysfs and hwmon; load, QMP fault injection and doctor
scenarios move those values. Prints "ok - NAME" or "not ok - NAME"; exits 0
only if every check passed.
"""

import concurrent.futures
import csv
import io
import json
import os
import pathlib
import pty
import re
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "harness" / "guest"))
import knpu_qmp  # noqa: E402 (found through the path above)

BUILD = pathlib.Path(sys.argv[1])
NPU_SMI = str(BUILD / "tools" / "npu-smi")
RESULTS = pathlib.Path(os.environ["KNPU_RESULTS"])
LOG = open(RESULTS / "npu-smi.log", "w", buffering=1)
PCI = pathlib.Path("/sys/bus/pci/devices")
DEBUGFS = pathlib.Path("/sys/kernel/debug/accel")
failed = []
passed = 0


def check(name, condition, detail=""):
    global passed
    if condition:
        passed += 1
        print(f"ok - {name}", flush=True)
    else:
        failed.append(name)
        print(f"not ok - {name} {detail}".rstrip(), flush=True)
    LOG.write(f"{'ok' if condition else 'FAIL'} {name} {detail}\n")


def run(*args, user=None, timeout=120, env=None):
    cmd = list(args)
    if user is not None:
        cmd = ["setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups"] + cmd
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                           env=None if env is None else {**os.environ, **env})
    except FileNotFoundError as e:  # a tool libnpu/scripts/install-deps.sh installs
        p = subprocess.CompletedProcess(cmd, 127, "", f"{e}\n")
    LOG.write(f"$ {' '.join(cmd)}\n-> {p.returncode}\n{p.stdout}{p.stderr}\n")
    return p


def smi(*args, **kw):
    return run(NPU_SMI, *args, **kw)


def qom_set(device, prop, value):
    ok = knpu_qmp.qom_set(device, prop, value)
    LOG.write(f"qmp: qom-set {device} {prop} {value} -> {'ok' if ok else 'failed'}\n")
    return ok


def attr(address, name):
    return (PCI / address / name).read_text().strip()


def hwmon(address, name):
    (d,) = (PCI / address / "hwmon").iterdir()
    return int((d / name).read_text())


def query_json(fields, *extra):
    p = smi(f"--query={fields}", "--format=json", *extra)
    return json.loads(p.stdout)["devices"] if p.returncode == 0 else None


def inject(address, fault, count=1):
    """Arms COUNT of the driver's debugfs fault FAULT (kernel/knpu_debugfs.c)."""
    (DEBUGFS / address / f"inject_{fault}").write_text(f"{count}\n")


def armed(address, fault):
    return int((DEBUGFS / address / f"inject_{fault}").read_text())


def fdinfo_bytes(text, key):
    """The bytes of fdinfo key KEY ("drm-total-device"): "4 MiB" or "4096"."""
    m = re.search(rf"^{key}:\s+(\d+)(?: (KiB|MiB))?$", text, re.M)
    return int(m[1]) << {None: 0, "KiB": 10, "MiB": 20}[m[2]] if m else None


def sysfs_abi_attributes(cores):
    """The attribute names docs/ABI/testing/sysfs-driver-knpu documents."""
    repo = pathlib.Path(__file__).resolve().parents[2]
    text = (repo / "docs/ABI/testing/sysfs-driver-knpu").read_text()
    names = set()
    for name in re.findall(r"^What:\s+/sys/bus/pci/devices/<dev>/(\S+)$", text, re.M):
        names |= {name.replace("<N>", str(c)) for c in range(cores)} if "<N>" in name else {name}
    return names


def wait_for(predicate, seconds=20):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(0.5)
    return predicate()


# --- identity and formats ------------------------------------------------
addresses = sorted(a.name for a in PCI.iterdir()
                   if (a / "vendor").read_text().strip() == "0x1234"
                   and (a / "device").read_text().strip() == "0x4b4e")
check("two KNPU functions", len(addresses) == 2, str(addresses))

p = smi("list")
check("list: a line per device with its serial",
      p.returncode == 0 and all(f"{a} " in p.stdout and attr(a, "serial_number") in p.stdout
                                for a in addresses), p.stdout)

FIELDS = ("index,pci_address,serial,hw_version,fw_version,state,clock_mhz,clock_max_mhz,"
          "cores,errors_correctable,errors_uncorrectable,mmu_faults,reset_count,"
          "memory_total_bytes,temperature_crit_c,throttled,throttle_reasons")
p = smi(f"--query={FIELDS}", "--format=json")
doc = json.loads(p.stdout) if p.returncode == 0 else {}
check("json: schema_version 1", doc.get("schema_version") == 1, p.stdout[:200])
devices = doc.get("devices", [])
check("json: both devices, in PCI order",
      [d["pci_address"] for d in devices] == addresses, str(devices))
for d in devices:
    a = d["pci_address"]
    bar2 = (PCI / a / "resource").read_text().splitlines()[2].split()
    expected = {
        "serial": attr(a, "serial_number"), "hw_version": attr(a, "hw_version"),
        "fw_version": attr(a, "fw_version"), "state": attr(a, "device_state"),
        "clock_mhz": int(attr(a, "clock_mhz")), "clock_max_mhz": int(attr(a, "clock_max_mhz")),
        "cores": int(attr(a, "num_cores")),
        "errors_correctable": int(attr(a, "errors_correctable")),
        "errors_uncorrectable": int(attr(a, "errors_uncorrectable")),
        "mmu_faults": int(attr(a, "mmu_faults")), "reset_count": int(attr(a, "reset_count")),
        "memory_total_bytes": int(bar2[1], 16) - int(bar2[0], 16) + 1,
        "temperature_crit_c": hwmon(a, "temp1_crit") / 1000,
        "throttled": attr(a, "throttled") == "1",
        "throttle_reasons": attr(a, "throttle_reasons"),
    }
    diff = {k: (d.get(k), v) for k, v in expected.items() if d.get(k) != v}
    check(f"json matches sysfs and hwmon for {a}", not diff, str(diff))
check("the device reports the spec's values",
      devices and devices[0]["hw_version"] == "1.8" and devices[0]["clock_max_mhz"] == 1000
      and devices[0]["temperature_crit_c"] == 95.0 and devices[0]["serial"].startswith("4b4e5055"),
      str(devices[:1]))

p = smi(f"--query={FIELDS}", "--format=csv")
rows = list(csv.DictReader(io.StringIO(p.stdout))) if p.returncode == 0 else []
check("csv: header of field names and a row per device",
      len(rows) == 2 and list(rows[0].keys()) == FIELDS.split(","), p.stdout)
check("csv: the same values as json",
      len(rows) == 2 and all(rows[i]["serial"] == devices[i]["serial"]
                             and int(rows[i]["memory_total_bytes"]) == devices[i]["memory_total_bytes"]
                             for i in range(2)), p.stdout)

p = smi("--query=pci_address,serial,cores", "--format=table")
check("table: a header line and a line per device",
      p.returncode == 0 and len(p.stdout.splitlines()) == 3
      and p.stdout.splitlines()[0].split()[:2] == ["PCI", "address"], p.stdout)
check("table: each device's values",
      [line.split() for line in p.stdout.splitlines()[1:]]
      == [[d["pci_address"], d["serial"], str(d["cores"])] for d in devices], p.stdout)

node_of = {a: "/dev/accel/" + next((PCI / a / "accel").iterdir()).name for a in addresses}
initialized = re.search(r"Initialized knpu (\S+) ", run("dmesg").stdout)
module_version = initialized[1] if initialized else "?"
p = smi("--query=index,device_node,driver_version,temperature_max_c,memory_used_bytes",
        "--format=json")
q = json.loads(p.stdout)["devices"] if p.returncode == 0 else []
check("json: node, driver version, temp1_max and device memory used match the device",
      [(d["device_node"], d["driver_version"], d["temperature_max_c"], d["memory_used_bytes"])
       for d in q]
      == [(node_of[a], f"knpu {module_version}", hwmon(a, "temp1_max") / 1000,
           int(attr(a, "memory_used_bytes"))) for a in addresses], str(q))

t = query_json("temperature_c,power_w")
check("temperature and power match hwmon",
      t is not None and all(abs(t[i]["temperature_c"] - hwmon(a, "temp1_input") / 1000) < 3
                            and t[i]["power_w"] > 0 for i, a in enumerate(addresses)), str(t))

p = smi()
check("summary table lists both devices",
      p.returncode == 0 and all(a in p.stdout for a in addresses), p.stdout)
p = smi("query", "--format=json")
every = json.loads(p.stdout)["devices"] if p.returncode == 0 else []
check("query --format=json has every field",
      p.returncode == 0 and len(every[0]) >= 29, p.stdout[:300])
p = smi("query", "--format=csv")
every_csv = list(csv.DictReader(io.StringIO(p.stdout))) if p.returncode == 0 else []
check("query --format=csv: the same fields as json, and the same identity",
      every and len(every_csv) == 2 and set(every_csv[0]) == set(every[0])
      and all(every_csv[i][k] == str(every[i][k])
              for i in range(2) for k in ("pci_address", "serial", "device_node", "cores")),
      p.stdout)

sensors = run("sensors")
check("sensors shows every card's temperature and power",
      sensors.returncode == 0 and sensors.stdout.count("knpu-pci-") == 2
      and sensors.stdout.count("temp1:") >= 2 and sensors.stdout.count("power1:") >= 2,
      sensors.stdout + sensors.stderr)

generic = set()
for other in PCI.iterdir():
    if other.name not in addresses:
        generic |= {f.name for f in other.iterdir()}
for a in addresses:
    own = {f.name for f in (PCI / a).iterdir() if f.is_file()} - generic
    # The PCI core's, on the functions that have them (Linux's sysfs-bus-pci).
    own = {n for n in own if not re.fullmatch(r"resource\d+(_wc)?|rom|reset(_method)?", n)}
    documented = sysfs_abi_attributes(int(attr(a, "num_cores")))
    check(f"sysfs: the driver's attributes on {a} are those docs/ABI documents",
          own == documented, f"undocumented {sorted(own - documented)}, "
          f"missing {sorted(documented - own)}")
p = smi("--query=bogus")
check("an unknown field is a usage error (exit 2)", p.returncode == 2 and "bogus" in p.stderr,
      p.stderr)

# --- watch mode ----------------------------------------------------------
p = smi("--query=index,timestamp", "--format=csv", "-l", "0.3", "-c", "3")
lines = p.stdout.splitlines()
check("loop csv: one header, then 3 reports of 2 devices",
      p.returncode == 0 and len(lines) == 7 and lines[0] == "index,timestamp"
      and lines.count("index,timestamp") == 1, p.stdout)
p = smi("--query=index,utilization_percent", "--format=json", "-l", "0.3", "-c", "2")
stream = [json.loads(line) for line in p.stdout.splitlines()] if p.returncode == 0 else []
check("loop json: one JSON document per line",
      len(stream) == 2 and all(len(s["devices"]) == 2 for s in stream), p.stdout)

def run_on_terminal(*args):
    """Runs npu-smi ARGS with its output on a pseudo-terminal; returns (status, text)."""
    master, slave = pty.openpty()
    p = subprocess.Popen([NPU_SMI, *args], stdout=slave, stderr=subprocess.DEVNULL)
    os.close(slave)
    out = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the terminal's last writer is gone
            break
        if not chunk:
            break
        out += chunk
    os.close(master)
    LOG.write(f"$ (terminal) npu-smi {' '.join(args)}\n{out!r}\n")
    return p.wait(), out.decode()


CLEAR = "\x1b[H\x1b[2J"
status, text = run_on_terminal("-l", "0.3", "-c", "3")
frames = text.split(CLEAR)
check("loop on a terminal: each of 3 reports is drawn on a cleared screen",
      status == 0 and len(frames) == 4 and frames[0] == ""
      and all(a in f for f in frames[1:] for a in addresses), repr(text[:400]))
p = smi("-l", "0.3", "-c", "2")
check("loop to a pipe: no terminal codes, reports one after another",
      p.returncode == 0 and "\x1b" not in p.stdout
      and p.stdout.count(addresses[0]) == 2, p.stdout)

# --- load: busy time, jobs, bytes, fdinfo, tracepoints ---------------------
tracing = pathlib.Path("/sys/kernel/tracing")
if not (tracing / "events").exists():
    run("mount", "-t", "tracefs", "nodev", str(tracing))
(tracing / "events/knpu/enable").write_text("1")
(tracing / "trace").write_text("")
before = query_json("busy_ns,jobs_completed,bytes_moved")
p = smi("validate")
check("validate passes on both devices",
      p.returncode == 0 and "Validation: 2 of 2 device(s) passed" in p.stdout, p.stdout)
after = query_json("busy_ns,jobs_completed,bytes_moved")
check("busy time, jobs and bytes rise with load",
      before and after and all(after[i][k] > before[i][k]
                               for i in range(2) for k in ("busy_ns", "jobs_completed", "bytes_moved")),
      f"{before} {after}")
check("sysfs core busy time sums to busy_ns",
      after and sum(int(attr(addresses[0], f"core{c}_busy_ns"))
                    for c in range(int(attr(addresses[0], "num_cores")))) >= after[0]["busy_ns"])
(tracing / "events/knpu/enable").write_text("0")
trace = (tracing / "trace").read_text()
check("tracepoints: submit, run and complete of the health jobs",
      all(f"knpu_job_{e}:" in trace for e in ("submit", "run", "complete")), trace[-500:])
run("trace-cmd", "record", "-q", "-e", "knpu", "-o", "/tmp/knpu.dat", "--",
    NPU_SMI, "validate", "-i", "0")
report = run("trace-cmd", "report", "-i", "/tmp/knpu.dat").stdout
check("trace-cmd records the knpu events of a health job",
      all(f"knpu_job_{e}:" in report for e in ("submit", "run", "complete")), report[-500:])

# A process holding device 1 through libnpu: 4 MiB of device memory and
# 1 MiB of host memory.
used_before = int(attr(addresses[1], "memory_used_bytes"))
holder = subprocess.Popen(["/usr/bin/python3", "-c", f"""
import ctypes, time
npu = ctypes.CDLL("{BUILD}/libnpu/libnpu.so")
device, on_device, on_host = ctypes.c_void_p(), ctypes.c_void_p(), ctypes.c_void_p()
assert npu.npu_device_open(ctypes.c_size_t(1), ctypes.byref(device)) == 0
assert npu.npu_buffer_create(device, ctypes.c_uint64(4 << 20), ctypes.c_uint32(1),
                             ctypes.byref(on_device)) == 0
assert npu.npu_buffer_create(device, ctypes.c_uint64(1 << 20), ctypes.c_uint32(0),
                             ctypes.byref(on_host)) == 0
print("open", flush=True)
time.sleep(600)
"""], stdout=subprocess.PIPE, text=True)
check("a process allocates device and host memory on device 1",
      holder.stdout.readline().strip() == "open")
p = smi("ps", "--format=json")
ps = json.loads(p.stdout) if p.returncode == 0 else {}
mine = [r for r in ps.get("processes", []) if r["pid"] == holder.pid]
check("ps: a process holding device 1 is listed with its device, cgroup and memory",
      len(mine) == 1 and mine[0]["device"] == 1 and mine[0]["pci_address"] == addresses[1]
      and mine[0]["command"].startswith("python3") and "cgroup" in mine[0]
      and mine[0]["memory_bytes"] >= 5 << 20 and mine[0]["device_memory_bytes"] >= 4 << 20,
      p.stdout)
p = smi("ps", user=65534)
check("ps as another user: the root process is hidden, not an error",
      p.returncode == 0 and "hidden" in p.stdout and str(holder.pid) not in p.stdout, p.stdout)
# What the packaged exporter unit runs as: another user with CAP_SYS_PTRACE.
p = run("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=+sys_ptrace",
        "--ambient-caps=+sys_ptrace", NPU_SMI, "ps", "--format=json")
seen = json.loads(p.stdout) if p.returncode == 0 else {}
check("ps as another user with CAP_SYS_PTRACE (the exporter unit's): the process is seen",
      [r["pid"] for r in seen.get("processes", [])] == [holder.pid]
      and seen.get("hidden_processes") == 0, p.stdout + p.stderr)
p = smi("--query=processes", "--format=csv")
check("the summary counts the process", p.returncode == 0 and p.stdout.splitlines()[2] == "1",
      p.stdout)
fdinfo = ""
for fd in pathlib.Path(f"/proc/{holder.pid}/fdinfo").iterdir():
    text = fd.read_text()
    if "drm-driver:\tknpu" in text:
        fdinfo = text
check("fdinfo has drm-engine-npu, its capacity and drm memory keys",
      re.search(r"^drm-engine-npu:\t\d+ ns$", fdinfo, re.M)
      and "drm-engine-capacity-npu:\t4" in fdinfo, fdinfo)
device_bytes = fdinfo_bytes(fdinfo, "drm-total-device")
check("fdinfo: memory per region, device and system",
      device_bytes is not None and device_bytes >= 4 << 20
      and fdinfo_bytes(fdinfo, "drm-total-system") >= 1 << 20, fdinfo)
used = int(attr(addresses[1], "memory_used_bytes"))
check("sysfs memory_used_bytes counts the process's device memory",
      device_bytes is not None and used == used_before + device_bytes,
      f"{used_before} -> {used}, fdinfo {device_bytes}")
q = json.loads(smi("--query=memory_used_bytes", "--format=json", "-i", "1",
                   user=65534).stdout or "{}").get("devices")
check("npu-smi as another user: device memory used includes the hidden process",
      q == [{"memory_used_bytes": used}], str(q))

# In a PID namespace (a container's view), ps sees the namespace's processes
# under their namespace PIDs and nothing outside.
p = run("unshare", "--pid", "--fork", "--mount-proc", "/usr/bin/python3", "-c",
        "import os, subprocess, sys; fd = os.open('/dev/accel/accel0', os.O_RDWR); "
        f"sys.stdout.write(subprocess.run(['{NPU_SMI}', 'ps', '--format=json'], "
        "capture_output=True, text=True).stdout)")
inside = json.loads(p.stdout).get("processes") if p.returncode == 0 and p.stdout else None
check("ps in a PID namespace: the namespace's process under its own PID, no other",
      inside is not None and [(r["pid"], r["device"]) for r in inside] == [(1, 0)],
      p.stdout + p.stderr)

debugfs = pathlib.Path("/sys/kernel/debug")
if not (debugfs / "accel").exists():
    run("mount", "-t", "debugfs", "none", str(debugfs))
dbg = debugfs / "accel" / addresses[0]
check("debugfs: queues, contexts and registers",
      (dbg / "queues").read_text().startswith("hwq  0:")
      and "ID " in (dbg / "registers").read_text()
      and (dbg / "contexts").exists(), str(list(dbg.iterdir())) if dbg.exists() else "no dir")
contexts = (debugfs / "accel" / addresses[1] / "contexts").read_text()
mapped = [int(k) for k in re.findall(r"^  mapped (\d+) KiB$", contexts, re.M)]
check("debugfs contexts: the holder's address space, its page tables and its 5 MiB mapped",
      re.search(r"^asid \d+: page-table pages [1-9]\d* busy_ns \d+$", contexts, re.M)
      and any(k >= 5 << 10 for k in mapped), contexts)

# --- exporter: promtool and a real Prometheus ----------------------------
run("ip", "link", "set", "lo", "up")
exporter = subprocess.Popen([NPU_SMI, "exporter", "--listen", "127.0.0.1:9400"],
                            stderr=subprocess.DEVNULL)


def scrape(errors=None):
    """The exporter's page, or "" with the reason appended to errors."""
    try:
        with urllib.request.urlopen("http://127.0.0.1:9400/metrics", timeout=10) as r:
            return r.read().decode()
    except OSError as e:
        if errors is not None:
            errors.append(repr(e))
        return ""


check("exporter answers", wait_for(lambda: scrape() != ""))


def both_devices_up(body):
    return all(f'knpu_up{{device="{i}",pci_address="{a}"' in body for i, a in enumerate(addresses))


scrape_errors = []
scrapes_started = time.monotonic()
with concurrent.futures.ThreadPoolExecutor(8) as pool:
    answers = list(pool.map(lambda _: scrape(scrape_errors), range(16)))
LOG.write(f"16 concurrent scrapes took {time.monotonic() - scrapes_started:.1f} s\n")
check("exporter: 16 concurrent scrapes all complete",
      all(both_devices_up(b) for b in answers),
      f"{[len(b) for b in answers]} {scrape_errors}")
metrics = scrape()
(RESULTS / "metrics.txt").write_text(metrics)
p = subprocess.run(["promtool", "check", "metrics"], input=metrics, capture_output=True, text=True)
LOG.write(f"promtool: {p.returncode} {p.stdout}{p.stderr}\n")
check("promtool check metrics finds no problem", p.returncode == 0 and not p.stdout.strip()
      and not p.stderr.strip(), p.stdout + p.stderr)
serial1 = attr(addresses[1], "serial_number")
check("exporter: per-process metric with its pid and cgroup",
      f'pid="{holder.pid}"' in metrics and "knpu_process_memory_bytes{" in metrics)

prom_dir = pathlib.Path("/tmp/prometheus")
prom_dir.mkdir(exist_ok=True)
# A scrape reads every process's fdinfo; on the debug kernel (KASAN, TCG) it
# can take more than a second, and a scrape that times out makes the series
# stale, so the timeout is generous and each check waits for its value.
(prom_dir / "prometheus.yml").write_text(
    "global: {scrape_interval: 2s, scrape_timeout: 2s}\n"
    "scrape_configs:\n  - job_name: knpu\n    static_configs: [{targets: ['127.0.0.1:9400']}]\n")
prometheus = subprocess.Popen(
    ["prometheus", f"--config.file={prom_dir}/prometheus.yml",
     f"--storage.tsdb.path={prom_dir}/data", "--web.listen-address=127.0.0.1:9090"],
    stdout=open(RESULTS / "prometheus.log", "w"), stderr=subprocess.STDOUT)


def prom_query(expr):
    url = "http://127.0.0.1:9090/api/v1/query?query=" + urllib.parse.quote(expr)
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return json.loads(r.read())["data"]["result"]
    except (OSError, ValueError, KeyError):
        return []


check("prometheus scraped the exporter",
      wait_for(lambda: len(prom_query("knpu_cores")) == 2, seconds=90))
stored = {r["metric"]["pci_address"]: float(r["value"][1]) for r in prom_query("knpu_cores")}
check("prometheus stored each device's core count",
      stored == {a: float(attr(a, "num_cores")) for a in addresses}, str(stored))


def stored_memory_used():
    return {r["metric"]["pci_address"]: float(r["value"][1])
            for r in prom_query("knpu_memory_used_bytes")}


check("prometheus stored each device's device memory used",
      wait_for(lambda: stored_memory_used() == {a: float(attr(a, "memory_used_bytes"))
                                                for a in addresses}, seconds=60),
      str(stored_memory_used()))

# --- fault injection through QMP ----------------------------------------
corr = int(attr(addresses[1], "errors_correctable"))
check("qmp: inject a correctable error on device 1",
      qom_set("knpu1", "inject-correctable", True))
check("correctable errors count it (sysfs)",
      wait_for(lambda: int(attr(addresses[1], "errors_correctable")) == corr + 1), "")
q = query_json("errors_correctable", "-i", "1")
check("npu-smi shows it", q and q[0]["errors_correctable"] == corr + 1, str(q))
check("prometheus stores it",
      wait_for(lambda: [float(r["value"][1]) for r in prom_query(
          f'knpu_errors_total{{serial="{serial1}",severity="correctable"}}')] == [corr + 1.0],
          seconds=60))
prometheus.terminate()
prometheus.wait()

check("qmp: overheat device 0", qom_set("knpu0", "inject-overheat", True))
check("device 0 throttles (sysfs)", wait_for(lambda: attr(addresses[0], "throttled") == "1"))
q = query_json("throttled,throttle_reasons,clock_mhz,temperature_c", "-i", "0")
check("npu-smi: throttled, thermal, half clock, hot",
      q and q[0]["throttled"] is True and q[0]["throttle_reasons"] == "thermal"
      and q[0]["clock_mhz"] == 500 and q[0]["temperature_c"] > 95, str(q))
check("hwmon temp1_crit_alarm is set", hwmon(addresses[0], "temp1_crit_alarm") == 1)
p = smi("doctor", "--no-job")
check("doctor: thermal warning with a fix, exit 7",
      p.returncode == 7 and "[WARN] thermal: device 0 is throttled" in p.stdout
      and "-> fix:" in p.stdout, p.stdout)
qom_set("knpu0", "inject-overheat", False)
check("device 0 recovers", wait_for(lambda: attr(addresses[0], "throttled") == "0", seconds=60))

# The error is injected once doctor has read device 1's counters (its state
# line); a fixed delay raced doctor's start on a slow (debug) kernel.
doctor = subprocess.Popen([NPU_SMI, "doctor", "--no-job", "--window", "6"],
                          stdout=subprocess.PIPE, text=True)
head = []
for line in doctor.stdout:
    head.append(line)
    if "state: device 1 (" in line:
        break
qom_set("knpu1", "inject-correctable", True)
out = "".join(head) + doctor.communicate(timeout=120)[0]
LOG.write(f"$ npu-smi doctor --no-job --window 6\n-> {doctor.returncode}\n{out}\n")
check("doctor --window: a correctable error inside the window is rising, exit 7",
      doctor.returncode == 7
      and "[WARN] errors: device 1: error counters rising over" in out
      and "correctable +1 (" in out, out)

os.rename(node_of[addresses[0]], "/dev/accel/hidden")
p = smi("doctor", "--no-job")
os.rename("/dev/accel/hidden", node_of[addresses[0]])
check("doctor without the device node: node, exit 3",
      p.returncode == 3 and f"[FAIL] node: {node_of[addresses[0]]} does not exist" in p.stdout
      and "-> fix:" in p.stdout, p.stdout)

shim = BUILD / "tests/guest/knpu-newer-uapi-shim.so"
p = run(NPU_SMI, "doctor", "--no-job", env={"LD_PRELOAD": str(shim)})
check("doctor against a driver of a newer uapi major: version, exit 6",
      p.returncode == 6 and "[FAIL] version:" in p.stdout and "libnpu speaks" in p.stdout
      and "-> fix:" in p.stdout, p.stdout + p.stderr)

p = smi("doctor", user=65534)
check("doctor as a user without the render group: permission, exit 4",
      p.returncode == 4 and "[FAIL] permission: /dev/accel/accel0: Permission denied" in p.stdout
      and "group render" in p.stdout, p.stdout)

def check_reset_counted(index, address, serial, resets, cause):
    """After CAUSE the driver resets device INDEX: sysfs, npu-smi and the
    exporter count one reset more than RESETS, and the device is ok again."""
    check(f"{cause}: device {index} is reset by the driver, counted, and ok again (sysfs)",
          wait_for(lambda: int(attr(address, "reset_count")) == resets + 1
                   and attr(address, "device_state") == "ok"))
    q = query_json("reset_count,state", "-i", str(index))
    check(f"{cause}: npu-smi counts the reset", q and q[0]["reset_count"] == resets + 1
          and q[0]["state"] == "ok", str(q))
    check(f"{cause}: the exporter counts the reset",
          f'knpu_resets_total{{device="{index}",pci_address="{address}",serial="{serial}"}} '
          f'{resets + 1}' in scrape())


# knpu.ko resets a device after an uncorrectable error (kernel/knpu_reset.c).
resets = int(attr(addresses[1], "reset_count"))
check("qmp: uncorrectable error on device 1",
      qom_set("knpu1", "inject-uncorrectable", True))
check_reset_counted(1, addresses[1], serial1, resets, "uncorrectable error")

# --- fault injection through the driver's debugfs -----------------------
# Beside the device's QMP injection: faults in the driver's own paths.
a0 = addresses[0]
serial0 = attr(a0, "serial_number")
inject(a0, "submit_error")
p = smi("validate", "-i", "0")
check("debugfs: an injected submit error fails validate (ENOMEM), exit 5",
      p.returncode == 5 and "NPU 0" in p.stdout and "FAIL" in p.stdout
      and "Cannot allocate memory" in p.stdout and armed(a0, "submit_error") == 0, p.stdout)
p = smi("validate", "-i", "0")
check("validate passes again after the failed submit", p.returncode == 0, p.stdout)

inject(a0, "lost_doorbell")
p = smi("validate", "-i", "0")
check("debugfs: a lost doorbell makes the job time out (watchdog), exit 5",
      p.returncode == 5 and "fill+copy job failed (TIMEOUT)" in p.stdout
      and armed(a0, "lost_doorbell") == 0, p.stdout)
check("the kernel log names the watchdog's queue reset",
      "made no progress" in run("dmesg").stdout)
inject(a0, "lost_doorbell")
p = smi("doctor", "-i", "0", timeout=200)
check("doctor: a device whose job makes no progress fails the job check, exit 5",
      p.returncode == 5 and "[FAIL] job: device 0:" in p.stdout and "TIMEOUT" in p.stdout
      and "-> fix:" in p.stdout, p.stdout)
p = smi("validate", "-i", "0")
check("validate passes again after the timeout", p.returncode == 0, p.stdout)


def knpu_busy_ns(pid):
    """drm-engine-npu of PID's knpu file, or None."""
    try:
        for fd in pathlib.Path(f"/proc/{pid}/fdinfo").iterdir():
            text = fd.read_text()
            m = re.search(r"^drm-engine-npu:\t(\d+) ns$", text, re.M)
            if m and "drm-driver:\tknpu" in text:
                return int(m[1])
    except OSError:  # the process is gone
        pass
    return None


# A job that keeps a core busy until the watchdog ends it: a process binds
# a queue, QMP hangs the next job of its hardware queue (binding resets the
# queue, which clears an earlier injection), then the process submits a
# fill and waits. fdinfo counts the job while it runs and after it failed,
# power and temperature follow the load, and the device counts its time.
hanger = subprocess.Popen(["/usr/bin/python3", "-c", f"""
import ctypes, sys, time
npu = ctypes.CDLL("{BUILD}/libnpu/libnpu.so")
device, queue, buf, job = (ctypes.c_void_p() for _ in range(4))
result = (ctypes.c_uint32 * 4)()
assert npu.npu_device_open(ctypes.c_size_t(0), ctypes.byref(device)) == 0
assert npu.npu_buffer_create(device, ctypes.c_uint64(1 << 20), ctypes.c_uint32(0),
                             ctypes.byref(buf)) == 0
assert npu.npu_queue_create(device, 1, ctypes.byref(queue)) == 0
print("bound", flush=True)
sys.stdin.readline()
assert npu.npu_queue_fill(queue, buf, ctypes.c_uint32(7), None, ctypes.byref(job)) == 0
assert npu.npu_job_wait(job, ctypes.c_int64(-1), result) == 0
print("status", result[0], flush=True)
time.sleep(600)
"""], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
check("a process binds a queue on device 0", hanger.stdout.readline().strip() == "bound")
bound = re.search(r"^hwq +(\d+): queue", (dbg / "queues").read_text(), re.M)
LOG.write(f"queues:\n{(dbg / 'queues').read_text()}")
check("qmp: hang the next job of its hardware queue",
      bound is not None and qom_set("knpu0", "inject-hang-queue", int(bound[1])))
idle_power, idle_temp = hwmon(a0, "power1_average"), hwmon(a0, "temp1_input")
core_busy = query_json("busy_ns", "-i", "0")[0]["busy_ns"]
hanger.stdin.write("go\n")
hanger.stdin.flush()
samples = []
debugfs_busy = []
finished = []
waiter = threading.Thread(target=lambda: finished.append(hanger.stdout.readline().strip()))
waiter.start()
while waiter.is_alive():
    samples.append((knpu_busy_ns(hanger.pid), hwmon(a0, "power1_average"),
                    hwmon(a0, "temp1_input")))
    debugfs_busy.append(max(map(int, re.findall(r"busy_ns (\d+)$",
                                                (dbg / "contexts").read_text(), re.M)),
                            default=0))
    time.sleep(0.1)
LOG.write(f"hung job: {finished}\n(fdinfo busy ns, power uW, temp mC): {samples}\n")
busy = [b for b, _, _ in samples if b]
check("the hung job fails when the watchdog resets its queue (NPU_JOB_FAILED)",
      finished == ["status 1"], str(finished))
check("fdinfo: busy time grows while the job runs, and never goes back",
      len(busy) >= 2 and busy[-1] - busy[0] >= 1_000_000_000 and busy == sorted(busy),
      str(busy))
after_failure = knpu_busy_ns(hanger.pid)
time.sleep(0.5)
check("fdinfo: the failed job's time stays counted, and stops growing",
      busy and after_failure is not None and after_failure >= busy[-1]
      and after_failure >= 1_500_000_000 and knpu_busy_ns(hanger.pid) == after_failure,
      f"{busy[-1:]} -> {after_failure}")
check("debugfs contexts: busy_ns counts the job while it runs, as fdinfo does",
      len(debugfs_busy) >= 4 and debugfs_busy[len(debugfs_busy) // 2] >= 500_000_000,
      str(debugfs_busy))
check("power and temperature rise while a core is busy",
      samples and max(p for _, p, _ in samples) >= idle_power + 3_000_000
      and max(t for _, _, t in samples) > idle_temp,
      f"idle {idle_power} uW {idle_temp} mC; {samples[-3:]}")
busy_after = query_json("busy_ns", "-i", "0")[0]["busy_ns"]
check("the device's busy time counts the failed job",
      busy_after - core_busy >= 1_500_000_000, f"{core_busy} -> {busy_after}")
hanger.kill()
hanger.wait()

resets0 = int(attr(a0, "reset_count"))
inject(a0, "device_error")
p = smi("validate", "-i", "0")
check("debugfs: a device error while the job runs: the driver resets the device, the job passes",
      p.returncode == 0 and armed(a0, "device_error") == 0, p.stdout)
check_reset_counted(0, a0, serial0, resets0, "debugfs device error")

# doctor's error check over a window: a driver reset inside it is a rising
# error counter, with its rate per minute.
resets0 = int(attr(a0, "reset_count"))
inject(a0, "device_error")
p = smi("doctor", "--window", "4", timeout=200)
check("doctor --window: an injected device error inside the window, exit 7",
      p.returncode == 7 and "[WARN] errors: device 0: error counters rising over" in p.stdout
      and "driver resets +1 (" in p.stdout and int(attr(a0, "reset_count")) == resets0 + 1,
      p.stdout)

scrapes = []
scraping = threading.Event()
scraping.set()


def scrape_until_stopped():
    while scraping.is_set():
        scrapes.append(scrape())


scraper = threading.Thread(target=scrape_until_stopped)
scraper.start()
time.sleep(1)
check("qmp: device 1 falls off the bus",
      qom_set("knpu1", "inject-surprise-removal", True))
time.sleep(2)
scraping.clear()
scraper.join()
check("exporter: every scrape while device 1 falls off the bus is complete",
      len(scrapes) >= 2 and all(both_devices_up(b) for b in scrapes),
      str([len(b) for b in scrapes]))
check("device 1 is lost (sysfs)", attr(addresses[1], "device_state") == "lost")
p = smi("doctor", "--no-job")
check("doctor: device 1 lost, exit 5",
      p.returncode == 5 and "device 1 (" in p.stdout and "is lost" in p.stdout, p.stdout)
q = query_json("state,temperature_c", "-i", "1")
check("npu-smi: a lost device has a state and no readings",
      q and q[0]["state"] == "lost" and q[0]["temperature_c"] is None, str(q))
check("exporter: knpu_up 0 for the lost device 1",
      f'knpu_up{{device="1",pci_address="{addresses[1]}",serial="{serial1}"}} 0' in scrape())
exporter.terminate()
exporter.wait()
holder.kill()
holder.wait()

# --- reset: success only when the device works afterwards ---------------
resets0 = int(attr(a0, "reset_count"))
p = smi("reset", "-i", "0", user=65534)
check("reset as a user: no permission, exit 4, no reset",
      p.returncode == 4 and int(attr(a0, "reset_count")) == resets0, p.stdout + p.stderr)
resets0 = int(attr(a0, "reset_count"))
p = smi("reset", "-i", "0", timeout=200)
v = smi("validate", "-i", "0", timeout=200)
check("reset: the function-level reset works and the device passes its health job, exit 0",
      p.returncode == 0 and "health job passed" in p.stdout and v.returncode == 0,
      f"reset {p.returncode}, validate {v.returncode}: {p.stdout}{p.stderr}")
check("reset: the driver counts the function-level reset",
      int(attr(a0, "reset_count")) == resets0 + 1, attr(a0, "reset_count"))
# The health job after the reset fails (an injected submit error): reset
# must not report success.
inject(a0, "submit_error")
p = smi("reset", "-i", "0", timeout=200)
check("reset: a device that fails its health job after the reset exits 5",
      p.returncode == 5 and "does not work after the reset" in p.stderr
      and "Cannot allocate memory" in p.stderr, f"{p.returncode}: {p.stdout}{p.stderr}")

# --- module unloaded -----------------------------------------------------
r = run("rmmod", "knpu")
p = smi("doctor")
check("doctor without knpu.ko: module not loaded, exit 3",
      r.returncode == 0 and p.returncode == 3 and "[FAIL] module: knpu.ko is not loaded" in p.stdout
      and "modprobe knpu" in p.stdout, p.stdout + r.stderr)
p = smi()
check("npu-smi without a device: exit 3", p.returncode == 3, p.stderr)

print(f"npu-smi: {passed} of {passed + len(failed)} checks passed", flush=True)
sys.exit(1 if failed else 0)
