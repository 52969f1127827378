#!/usr/bin/env python3
"""Summarise the test reports a guest run left in its results directory.

Reads every GoogleTest XML (*.xml) and KTAP/TAP file (*.ktap, *.tap) under
DIR, prints one line per failed test (suite, name, message, file:line) and a
closing count. Exit status 1 when a report lists a failure or cannot be read,
0 otherwise (also when there are no reports).

Usage: report.py DIR
"""
import os
import re
import sys
import xml.etree.ElementTree as ET


def gtest(path, out):
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as e:
        out["broken"].append(f"{path}: unreadable XML ({e})")
        return
    if root.tag not in ("testsuites", "testsuite"):
        return
    for case in root.iter("testcase"):
        name = f"{case.get('classname', '?')}.{case.get('name', '?')}"
        fails = case.findall("failure") + case.findall("error")
        if fails:
            msg = (fails[0].get("message") or fails[0].text or "").strip()
            msg = " | ".join(l.strip() for l in msg.splitlines()[:3])[:300]
            out["failed"].append(f"{name}: {msg}  [{os.path.basename(path)}]")
        elif case.find("skipped") is not None or case.get("result") == "skipped" \
                or case.get("status") == "notrun":
            out["skipped"] += 1
        else:
            out["passed"] += 1


TAP_RE = re.compile(r"^\s*(not ok|ok)\s+\d+\s*(?:-\s*)?([^#]*)(#.*)?$")


def ktap(path, out):
    """KTAP/TAP: nested suites are indented; count the leaves' results."""
    stack = []
    suite_at = {}
    with open(path, errors="replace") as f:
        lines = f.read().splitlines()
    for line in lines:
        sub = re.match(r"^(\s*)# Subtest: (.*)$", line)
        if sub:
            suite_at[len(sub.group(1))] = sub.group(2).strip()
            continue
        m = TAP_RE.match(line)
        if not m:
            continue
        verdict, name, directive = m.group(1), m.group(2).strip(), (m.group(3) or "")
        indent = len(line) - len(line.lstrip())
        # A result line right after more-indented results closes a suite.
        is_suite = bool(stack) and stack[-1] > indent
        while stack and stack[-1] > indent:
            stack.pop()
        stack.append(indent)
        if is_suite:
            if verdict == "not ok" and "SKIP" not in directive.upper():
                out["suites_failed"].append(name)
            continue
        if "SKIP" in directive.upper():
            out["skipped"] += 1
        elif verdict == "ok":
            out["passed"] += 1
        else:
            suite = suite_at.get(indent)
            full = f"{suite}.{name}" if suite else name
            out["failed"].append(f"{full}  [{os.path.basename(path)}]")


GTEST_RUN = re.compile(r"^\[ RUN      \] (\S+)")
GTEST_END = re.compile(r"^\[ +(?:OK|FAILED|SKIPPED) +\] (\S+) \(")


def console(path, out):
    """The program's own output: a GoogleTest test that started and never
    finished (crash, hang, kill) and TAP 'not ok' lines, for programs that
    write no report file. Informational: the exit status decides."""
    try:
        with open(path, errors="replace") as f:
            lines = f.read().splitlines()
    except OSError:
        return
    running = None
    for line in lines:
        m = GTEST_RUN.match(line)
        if m:
            running = m.group(1)
            continue
        m = GTEST_END.match(line)
        if m and m.group(1) == running:
            running = None
        m = TAP_RE.match(line)
        if m and m.group(1) == "not ok" and "SKIP" not in (m.group(3) or "").upper() \
                and "TODO" not in (m.group(3) or "").upper():
            out["console"].append(f"FAILED (output): {line.strip()}")
    if running:
        out["console"].append(f"INTERRUPTED TEST: {running} started and never finished "
                              "(crashed, hung or killed; see output.log)")


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    out = {"passed": 0, "failed": [], "skipped": 0, "broken": [], "suites_failed": [],
           "console": []}
    console(os.path.join(sys.argv[1], "output.log"), out)
    for c in out["console"]:
        print(c)
    reports = 0
    for dirpath, dirnames, files in os.walk(sys.argv[1]):
        dirnames[:] = [d for d in dirnames if d != ".knpu"]
        for fn in sorted(files):
            p = os.path.join(dirpath, fn)
            if fn.endswith(".xml"):
                reports += 1
                gtest(p, out)
            elif fn.endswith((".ktap", ".tap")):
                reports += 1
                ktap(p, out)
    if not reports:
        return 0
    for f in out["failed"]:
        print(f"FAILED TEST: {f}")
    if not out["failed"]:
        for s in out["suites_failed"]:
            print(f"FAILED SUITE: {s}")
    for b in out["broken"]:
        print(f"BROKEN REPORT: {b}")
    nfail = len(out["failed"]) or len(out["suites_failed"])
    print(f"guest test reports: {out['passed']} passed, {nfail} failed, "
          f"{out['skipped']} skipped ({reports} report file(s))")
    return 1 if nfail or out["broken"] else 0


if __name__ == "__main__":
    sys.exit(main())
