"""Fixtures: a real regularsd per test and the real libregulars, both named by ctest in the environment
(REGULARS_REGULARSD, REGULARS_PLUGIN, and REGULARS_REGULARSCTL for the owner's view)."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from regularsd_process import Regularsd


def required_env(name: str) -> str:
    value = os.environ.get(name, "")
    if not value:
        pytest.fail(f"{name} is not set: run these tests through ctest (ctest -L bindings), "
                    f"or set {name} to the built program, e.g. build/daemon/regularsd", pytrace=False)
    return value


@pytest.fixture
def plugin_path() -> str:
    return required_env("REGULARS_PLUGIN")


@pytest.fixture
def daemon(tmp_path: Path) -> Iterator[Regularsd]:
    process = Regularsd(required_env("REGULARS_REGULARSD"), tmp_path / "data")
    process.start()
    try:
        yield process
    finally:
        process.kill()


@pytest.fixture
def options(daemon: Regularsd) -> dict[str, Any]:
    """Client options for the fixture's daemon. A generous budget: the test machine is shared and busy,
    and these tests are about the binding, not about the plugin's time budget."""
    return {"endpoint": daemon.endpoint, "terminal": "lane-py", "store": "test", "budget_ms": 5000}


@pytest.fixture
def regularsctl(daemon: Regularsd) -> Callable[..., str]:
    binary = required_env("REGULARS_REGULARSCTL")

    def run(*args: str) -> str:
        done = subprocess.run([binary, "--data-dir", str(daemon.data_dir), *args],
                              capture_output=True, text=True, timeout=30)
        assert done.returncode == 0, f"regularsctl {' '.join(args)} failed: {done.stderr}"
        return done.stdout

    return run
