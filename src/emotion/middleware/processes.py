"""Free loopback ports and real child processes that are always cleaned up (whole process group)."""

import os
import signal
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Callable, Mapping, Sequence

LOOPBACK = "127.0.0.1"


def free_port(host: str = LOOPBACK) -> int:
    """A TCP port that is free on ``host`` right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def free_ports(count: int, host: str = LOOPBACK) -> list[int]:
    """``count`` distinct free ports (held open together while they are picked)."""
    socks = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind((host, 0))
            socks.append(sock)
        return [s.getsockname()[1] for s in socks]
    finally:
        for sock in socks:
            sock.close()


def wait_until(predicate: Callable[[], bool], timeout_s: float, interval_s: float = 0.05) -> bool:
    """Poll ``predicate`` until it is true (True) or ``timeout_s`` passes (False); exceptions count as false."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            if predicate():
                return True
        except Exception:
            pass
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval_s)


class ManagedProcess:
    """A child process in its own process group, output captured to a log file, stopped as a group."""

    def __init__(self, argv: Sequence[str], cwd: Path | str | None = None, env: Mapping[str, str] | None = None,
                 log_path: Path | str | None = None, name: str | None = None) -> None:
        self.argv = [str(a) for a in argv]
        self.cwd = cwd
        self.env = dict(env) if env is not None else None
        self.name = name or Path(self.argv[0]).name
        if log_path is None:
            handle, log_path = tempfile.mkstemp(prefix=f"{self.name}-", suffix=".log")
            os.close(handle)
        self.log_path = Path(log_path)
        self.process: subprocess.Popen | None = None

    def start(self) -> "ManagedProcess":
        if self.running:
            raise RuntimeError(f"{self.name} is already running (pid {self.process.pid})")
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(self.argv, cwd=self.cwd, env=self.env, stdout=log,
                                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                            start_new_session=True)
        return self

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    @property
    def returncode(self) -> int | None:
        return self.process.poll() if self.process else None

    def output(self) -> str:
        """Everything the process wrote so far (stdout and stderr together)."""
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def wait(self, timeout_s: float | None = None) -> int:
        if self.process is None:
            raise RuntimeError(f"{self.name} was never started")
        return self.process.wait(timeout=timeout_s)

    def signal(self, signum: int) -> None:
        """Send ``signum`` to the whole process group (no-op when it already exited)."""
        if self.process is None:
            return
        try:
            os.killpg(self.process.pid, signum)
        except ProcessLookupError:
            pass

    def stop(self, timeout_s: float = 5.0) -> int | None:
        """SIGTERM the group, SIGKILL it after ``timeout_s``; the exit status."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                pass
        self.kill()
        return self.process.returncode

    def kill(self) -> None:
        """SIGKILL the group (children included) and reap the process."""
        if self.process is None:
            return
        self.signal(signal.SIGKILL)
        self.process.wait()

    def __enter__(self) -> "ManagedProcess":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def stop_event_on_signals(signals: Sequence[int] = (signal.SIGINT, signal.SIGTERM)) -> threading.Event:
    """An Event set by SIGINT/SIGTERM (call from the main thread): long-running tools wait on it."""
    stop = threading.Event()
    for signum in signals:
        signal.signal(signum, lambda *_: stop.set())
    return stop
