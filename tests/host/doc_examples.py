#!/usr/bin/env python3
"""CTest test host.doc-examples: every C/C++ block of a guide is a verbatim
excerpt of a file the build compiles. A block is preceded by a line
`<!-- example: PATH -->` (PATH from the repository root); its lines must
appear, in order and contiguous, in that file.

Usage: doc_examples.py ROOT GUIDE.md...
"""
import pathlib
import re
import sys

FENCE = re.compile(r"^```(c|cpp)\s*$")
MARKER = re.compile(r"^<!-- example: (\S+) -->\s*$")


def blocks(lines):
    """(line number, marker path or None, block lines) of each C/C++ block."""
    marker = None
    i = 0
    while i < len(lines):
        m = MARKER.match(lines[i])
        if m:
            marker = m.group(1)
        elif FENCE.match(lines[i]):
            start = i + 1
            end = start
            while end < len(lines) and lines[end].rstrip() != "```":
                end += 1
            yield start, marker, lines[start:end]
            marker = None
            i = end
        elif lines[i].strip():
            marker = None
        i += 1


def contains(haystack, needle):
    n = len(needle)
    return any(haystack[i:i + n] == needle for i in range(len(haystack) - n + 1))


def main():
    root = pathlib.Path(sys.argv[1])
    failures = 0
    checked = 0
    for guide in sys.argv[2:]:
        lines = pathlib.Path(guide).read_text().splitlines()
        for line, marker, block in blocks(lines):
            checked += 1
            if marker is None:
                print(f"{guide}:{line}: a code block without <!-- example: PATH -->")
                failures += 1
                continue
            source = (root / marker).read_text().splitlines()
            if not contains(source, block):
                print(f"{guide}:{line}: the block is not an excerpt of {marker}")
                failures += 1
    print(f"{checked} example blocks checked, {failures} failed")
    return 1 if failures or not checked else 0


if __name__ == "__main__":
    sys.exit(main())
