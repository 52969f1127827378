#!/usr/bin/env python3
"""CTest `harness-report` (host): report.py names failed tests from GoogleTest
XML, nested KTAP and a program's console output, and passes clean reports."""
import os
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
REPORT = os.path.join(HERE, "report.py")

GTEST_XML = """<?xml version="1.0" encoding="UTF-8"?>
<testsuites tests="3" failures="1" name="AllTests">
  <testsuite name="Queue" tests="3" failures="1">
    <testcase name="Create" status="run" result="completed" classname="Queue" />
    <testcase name="Submit" status="run" result="completed" classname="Queue">
      <failure message="queue_test.cpp:42&#x0A;Expected: ok" type=""><![CDATA[queue_test.cpp:42
Expected: ok]]></failure>
    </testcase>
    <testcase name="Later" status="notrun" result="suppressed" classname="Queue" />
  </testsuite>
</testsuites>
"""

KTAP = """KTAP version 1
1..2
    KTAP version 1
    # Subtest: knpu_mmu
    1..2
    ok 1 map_4k
    not ok 2 unmap_2m
not ok 1 knpu_mmu
    KTAP version 1
    # Subtest: knpu_job
    1..1
        ok 1 param-a
        ok 2 param-b # SKIP no device
    ok 1 params
ok 2 knpu_job
"""


def run(files):
    with tempfile.TemporaryDirectory() as d:
        for name, text in files.items():
            with open(os.path.join(d, name), "w") as f:
                f.write(text)
        p = subprocess.run([sys.executable, REPORT, d], capture_output=True, text=True)
        return p.returncode, p.stdout


class Report(unittest.TestCase):
    def test_gtest_failure_named(self):
        rc, out = run({"suite.xml": GTEST_XML})
        self.assertEqual(rc, 1)
        self.assertIn("FAILED TEST: Queue.Submit: queue_test.cpp:42 | Expected: ok", out)
        self.assertIn("1 passed, 1 failed, 1 skipped", out)

    def test_ktap_nested(self):
        rc, out = run({"kunit.ktap": KTAP})
        self.assertEqual(rc, 1)
        self.assertIn("FAILED TEST: knpu_mmu.unmap_2m", out)
        self.assertNotIn("FAILED TEST: knpu_mmu  ", out)
        self.assertIn("2 passed, 1 failed, 1 skipped", out)

    def test_clean_reports_pass(self):
        rc, out = run({"a.xml": GTEST_XML.replace('failures="1"', 'failures="0"')
                       .split("<failure")[0] + "</testcase></testsuite></testsuites>",
                       "b.ktap": "KTAP version 1\n1..1\nok 1 fine\n"})
        self.assertEqual(rc, 0, out)

    def test_broken_xml_fails(self):
        rc, out = run({"half.xml": GTEST_XML[:200]})
        self.assertEqual(rc, 1)
        self.assertIn("BROKEN REPORT", out)

    def test_console_crash_named(self):
        rc, out = run({"output.log": "[ RUN      ] Dev.Open\n[       OK ] Dev.Open (1 ms)\n"
                                     "[ RUN      ] Dev.Reset\nSegmentation fault\n"})
        self.assertEqual(rc, 0)  # informational: the exit status decides
        self.assertIn("INTERRUPTED TEST: Dev.Reset", out)

    def test_no_reports(self):
        rc, out = run({"notes.txt": "nothing\n"})
        self.assertEqual(rc, 0)
        self.assertEqual(out, "")


if __name__ == "__main__":
    unittest.main(verbosity=2)
