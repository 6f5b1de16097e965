"""Free loopback ports and real child processes that are always cleaned up (whole process group).

A ``ManagedProcess`` child runs in its own session (so a terminal's Ctrl-C or hang-up reaches only the
tool that started it, which then stops it) and, on Linux, carries a parent-death signal: when the thread
that started it dies, even by SIGKILL, the kernel SIGKILLs the child. Temporary files (a child's log when
none is given, a tool's ``owned_temp_dir``) carry the owner's pid in their name and are removed when the
owner stops them, or by the next owner once the one that made them is dead.
"""

import contextlib
import ctypes
import errno
import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Callable, Iterator, Mapping, Sequence

LOOPBACK = "127.0.0.1"
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
"""What stops a long-running tool cleanly: Ctrl-C, a kill, a closed terminal."""
PR_SET_DEATHSIG = 1
_prctl = ctypes.CDLL(None, use_errno=True).prctl if sys.platform.startswith("linux") else None


def _die_with_parent(parent_pid: int) -> Callable[[], None]:
    """A ``preexec_fn``: SIGKILL this child when its parent dies (also if it already died after the fork)."""

    def setup() -> None:
        if _prctl is not None:
            _prctl(PR_SET_DEATHSIG, signal.SIGKILL)
        if os.getppid() != parent_pid:
            os.kill(os.getpid(), signal.SIGKILL)

    return setup


def pid_alive(pid: int) -> bool:
    """True when a process ``pid`` exists (zombies included)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale(prefix: str, folder: str | None = None) -> list[str]:
    """Remove ``folder/<prefix><pid>-*`` (files or folders) whose owner ``pid`` is dead; what was removed."""
    removed = []
    for path in glob.glob(os.path.join(folder or tempfile.gettempdir(), f"{glob.escape(prefix)}*")):
        owner = os.path.basename(path)[len(prefix):].split("-", 1)[0]
        if not owner.isdigit() or int(owner) == os.getpid() or pid_alive(int(owner)):
            continue
        shutil.rmtree(path, ignore_errors=True) if os.path.isdir(path) else Path(path).unlink(missing_ok=True)
        removed.append(path)
    return removed


@contextlib.contextmanager
def owned_temp_dir(prefix: str) -> Iterator[Path]:
    """A temporary folder ``<tmp>/<prefix><pid>-XXXX``, removed on exit; first removes the folders of
    dead owners (a tool killed by SIGKILL cannot clean up after itself)."""
    remove_stale(prefix)
    path = Path(tempfile.mkdtemp(prefix=f"{prefix}{os.getpid()}-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def free_port(host: str = LOOPBACK) -> int:
    """A TCP port that is free on ``host`` right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def check_port_free(port: int, host: str = "", what: str = "port") -> None:
    """OSError when TCP ``port`` on ``host`` ('' = every interface) is taken or cannot be bound."""
    if not 0 < port < 65536:
        raise ValueError(f"{what} {port}: out of range (1..65535)")
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as Ice does: TIME_WAIT is no conflict
        try:
            sock.bind((host, port))
        except OSError as exc:
            reason = "already in use" if exc.errno == errno.EADDRINUSE else (exc.strerror or str(exc))
            raise OSError(f"{what} {port} on {host or 'every interface'}: {reason}") from None


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


def wait_until(predicate: Callable[[], bool], timeout_s: float, interval_s: float = 0.05,
               give_up: Callable[[], bool] | None = None) -> bool:
    """Poll ``predicate`` until it is true (True), or ``timeout_s`` passes or ``give_up()`` is true (False);
    exceptions in ``predicate`` count as false."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            if predicate():
                return True
        except Exception:
            pass
        if time.monotonic() >= deadline or (give_up is not None and give_up()):
            return False
        time.sleep(interval_s)


class ManagedProcess:
    """A child process in its own session and process group, output captured to a log file, stopped as a
    group, killed by the kernel if the starting thread dies. A log it made itself (no ``log_path``) is
    removed when the process is stopped; ``output()`` still answers from memory then."""

    def __init__(self, argv: Sequence[str], cwd: Path | str | None = None, env: Mapping[str, str] | None = None,
                 log_path: Path | str | None = None, name: str | None = None) -> None:
        self.argv = [str(a) for a in argv]
        self.cwd = cwd
        self.env = dict(env) if env is not None else None
        self.name = name or Path(self.argv[0]).name
        self._owns_log = log_path is None
        if self._owns_log:
            remove_stale(f"{self.name}-")
            handle, log_path = tempfile.mkstemp(prefix=f"{self.name}-{os.getpid()}-", suffix=".log")
            os.close(handle)
        self.log_path = Path(log_path)
        self._final_output: str | None = None
        self.process: subprocess.Popen | None = None

    def start(self) -> "ManagedProcess":
        if self.running:
            raise RuntimeError(f"{self.name} is already running (pid {self.process.pid})")
        if self._final_output is not None:  # restarted after a stop removed the log: keep the earlier output
            self.log_path.write_text(self._final_output)
            self._final_output = None
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(self.argv, cwd=self.cwd, env=self.env, stdout=log,
                                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                            start_new_session=True, preexec_fn=_die_with_parent(os.getpid()))
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

    def last_line(self) -> str:
        """The last non-empty line the process wrote ('' if none): its error, usually."""
        lines = [line.strip() for line in self.output().splitlines() if line.strip()]
        return lines[-1] if lines else ""

    def output(self) -> str:
        """Everything the process wrote so far (stdout and stderr together)."""
        if self._final_output is not None:
            return self._final_output
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
        self._remove_own_log()

    def _remove_own_log(self) -> None:
        if self._owns_log and self._final_output is None:
            self._final_output = self.output()
            self.log_path.unlink(missing_ok=True)

    def __enter__(self) -> "ManagedProcess":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def stop_event_on_signals(signals: Sequence[int] = STOP_SIGNALS) -> threading.Event:
    """An Event set by SIGINT, SIGTERM or SIGHUP (call from the main thread): long-running tools wait on
    it, then stop their children and remove their files."""
    stop = threading.Event()
    for signum in signals:
        signal.signal(signum, lambda *_: stop.set())
    return stop
