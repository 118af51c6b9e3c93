"""A real regularsd on a temporary data directory, for the binding's tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path


class Regularsd:
    """Starts, stops and restarts one regularsd; its log goes beside the data directory."""

    def __init__(self, binary: str, data_dir: Path) -> None:
        self.binary = binary
        self.data_dir = data_dir
        self.log_path = data_dir.parent / f"{data_dir.name}.log"
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def socket_path(self) -> Path:
        return self.data_dir / "regularsd.sock"

    @property
    def endpoint(self) -> str:
        return f"unix:{self.socket_path}"

    def start(self, timeout_s: float = 10.0) -> None:
        """Starts regularsd and returns once its socket accepts connections."""
        assert self._process is None, "regularsd is already running"
        with open(self.log_path, "ab") as log:
            self._process = subprocess.Popen(
                [self.binary, "--data-dir", str(self.data_dir), "--log-format", "text"],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"regularsd exited at start with {self._process.returncode}: {self.log_tail()}")
            if self._accepts():
                return
            time.sleep(0.05)
        self.kill()
        raise RuntimeError(f"regularsd did not answer on {self.socket_path} within {timeout_s} s: {self.log_tail()}")

    def stop(self, timeout_s: float = 10.0) -> int:
        """SIGTERM and wait; returns the exit status (0 for a clean stop)."""
        process = self._process
        assert process is not None, "regularsd is not running"
        process.terminate()
        try:
            return process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            raise RuntimeError(f"regularsd did not stop within {timeout_s} s of SIGTERM")
        finally:
            self._process = None

    def suspend(self) -> None:
        """SIGSTOP: the daemon keeps its connections open but answers nothing, as a hung daemon would.

        Returns once every thread has stopped: a signal is delivered asynchronously, and a thread
        still running could answer one more request."""
        assert self._process is not None, "regularsd is not running"
        self._process.send_signal(signal.SIGSTOP)
        deadline = time.monotonic() + 5
        while not self._all_threads_stopped():
            if time.monotonic() > deadline:
                raise RuntimeError("regularsd did not stop within 5 s of SIGSTOP")
            time.sleep(0.001)

    def _all_threads_stopped(self) -> bool:
        assert self._process is not None
        tasks = f"/proc/{self._process.pid}/task"
        for tid in os.listdir(tasks):
            try:
                with open(f"{tasks}/{tid}/stat") as f:
                    state = f.read().rsplit(")", 1)[1].split()[0]
            except FileNotFoundError:  # a thread that has just ended
                continue
            if state not in ("T", "t"):
                return False
        return True

    def resume(self) -> None:
        assert self._process is not None, "regularsd is not running"
        self._process.send_signal(signal.SIGCONT)

    def kill(self) -> None:
        if self._process is not None:
            self._process.kill()
            self._process.wait()
            self._process = None

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return "(no log)"

    def _accepts(self) -> bool:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
            try:
                probe.connect(str(self.socket_path))
            except OSError:
                return False
            return True
