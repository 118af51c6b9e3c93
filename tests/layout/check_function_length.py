#!/usr/bin/env python3
"""Functions stay short enough to read at once: about 80 lines at most.

Finds every function body in daemon/, plugin/ and sdk/wire/ (free functions, member functions
defined inside a class, lambdas long enough to be functions of their own are counted with their
function) by matching braces, and fails naming each one over the limit. Data tables (an array or
a string literal initialised at namespace scope) are not functions and are not counted.
"""
import os
import re
import sys

LIMIT = 80
ROOTS = ("daemon", "plugin", os.path.join("sdk", "wire"))
# A line that opens a function body: a parameter list, optional qualifiers, then "{".
HEADER = re.compile(r"^(\s*)(?!if\b|for\b|while\b|switch\b|catch\b|else\b|do\b|return\b|namespace\b|struct\b|class\b|enum\b)"
                    r"[^;=]*\)\s*(const)?\s*(noexcept)?\s*(override)?\s*(->\s*[\w:<>&*, ]+)?\s*\{\s*$")


def strip_strings(line):
    line = re.sub(r'R"(\w*)\(.*?\)\1"', '""', line)
    line = re.sub(r'"(\\.|[^"\\])*"', '""', line)
    line = re.sub(r"'(\\.|[^'\\])'", "''", line)
    return line.split("//")[0]


def functions(path):
    """Yields (first line number, length in lines, header) for each function in the file."""
    with open(path, encoding="utf-8", errors="replace") as f:
        lines = f.read().split("\n")
    i, in_raw = 0, False
    while i < len(lines):
        line = lines[i]
        if 'R"sql(' in line or 'R"(' in line and ')"' not in line:
            in_raw = True
        if in_raw:
            if ')sql"' in line or ')"' in line:
                in_raw = False
            i += 1
            continue
        header_text = line
        # Headers split over several lines end with the line that has the "{".
        if HEADER.match(header_text) and "(" in "".join(lines[max(0, i - 4):i + 1]):
            depth, j = 0, i
            while j < len(lines):
                depth += strip_strings(lines[j]).count("{") - strip_strings(lines[j]).count("}")
                if depth <= 0:
                    break
                j += 1
            start = i
            while start > 0 and lines[start - 1].strip() and not lines[start - 1].strip().endswith((";", "}", "{")) \
                    and not lines[start - 1].lstrip().startswith(("//", "#")):
                start -= 1
            yield start + 1, j - start + 1, lines[start].strip()[:100]
            i = j + 1
            continue
        i += 1


def main():
    top = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "..")
    too_long = []
    for root in ROOTS:
        for d, _, files in os.walk(os.path.join(top, root)):
            for name in sorted(files):
                if name.endswith((".cpp", ".hpp", ".cc", ".h")):
                    path = os.path.join(d, name)
                    for line, length, header in functions(path):
                        if length > LIMIT:
                            too_long.append((length, os.path.relpath(path, top), line, header))
    for length, path, line, header in sorted(too_long, reverse=True):
        print(f"{path}:{line}: {length} lines: {header}")
    if too_long:
        print(f"{len(too_long)} functions over {LIMIT} lines: split them by what each part does")
        return 1
    print(f"no function over {LIMIT} lines in {', '.join(ROOTS)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
