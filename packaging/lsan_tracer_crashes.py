#!/usr/bin/env python3
"""Tells a LeakSanitizer tracer crash from a real failure, in a CTest JUnit file.

LeakSanitizer checks for leaks at exit by stopping every thread from a tracer thread; on some
kernels and sandboxes that tracer now and then dies ("Tracer caught signal 11") after the test
itself has passed. That is the sanitizer failing, not the code under test, so setup.sh runs such
a test once more; every other failure stands.

Usage: lsan_tracer_crashes.py JUNIT_XML
Prints the failed tests, one per line. Exit 0 when each one passed its body and failed only by
the tracer's crash; exit 1 when any failure is a real one (or the file cannot be read).
"""
import sys
import xml.etree.ElementTree as ElementTree

TRACER_CRASH = "LeakSanitizer has encountered a fatal error"
BODY_PASSED = "[  PASSED  ]"
# A report from any sanitizer means the crash may hide a finding: never rerun those.
FINDINGS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer: detected", "runtime error:", "[  FAILED  ]")


def only_the_tracer_crashed(output: str) -> bool:
    return TRACER_CRASH in output and BODY_PASSED in output and not any(f in output for f in FINDINGS)


def main() -> int:
    if len(sys.argv) != 2:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    try:
        suite = ElementTree.parse(sys.argv[1]).getroot()
    except (OSError, ElementTree.ParseError) as error:
        print(f"cannot read the test results {sys.argv[1]}: {error}", file=sys.stderr)
        return 1
    all_tracer_crashes = True
    for case in suite.iter("testcase"):
        if case.get("status") != "fail":
            continue
        output = case.findtext("system-out") or ""
        tracer_only = only_the_tracer_crashed(output)
        all_tracer_crashes = all_tracer_crashes and tracer_only
        print(f"{case.get('name')}: {'LeakSanitizer tracer crash after a pass' if tracer_only else 'failed'}")
    return 0 if all_tracer_crashes else 1


if __name__ == "__main__":
    sys.exit(main())
