"""The example till runs against a real daemon, so that it cannot rot."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from regularsd_process import Regularsd

TILL = Path(__file__).resolve().parent.parent / "examples" / "till.py"


def run_till(daemon: Regularsd, plugin_path: str, card: str) -> str:
    done = subprocess.run(
        [sys.executable, str(TILL), "--endpoint", daemon.endpoint, "--card", card, "--plugin", plugin_path,
         "--budget-ms", "5000"],
        capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_the_example_till_recognises_the_customer_on_the_second_visit(daemon: Regularsd, plugin_path: str) -> None:
    first = run_till(daemon, plugin_path, "4000400")
    assert "new customer: no hints" in first
    assert "purchase recorded" in first
    second = run_till(daemon, plugin_path, "4000400")
    assert "[greeting] Welcome back — visit 2" in second
    assert "likely: Oat milk" in second


def test_the_example_till_reports_a_missing_library(daemon: Regularsd, tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, str(TILL), "--endpoint", daemon.endpoint,
                           "--plugin", str(tmp_path / "missing.so")], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "cannot load libregulars" in done.stderr
