"""rcnode: icebox running IceStorm (etc/rcnode.conf) as a managed child process."""

import shutil
from pathlib import Path

from emotion.middleware.communicator import make_communicator
from emotion.middleware.processes import LOOPBACK, ManagedProcess, check_port_free, free_ports, wait_until
from emotion.middleware.slices import load_interfaces
from emotion.paths import REPO_ROOT

RCNODE_CONFIG: Path = REPO_ROOT / "etc" / "rcnode.conf"
DEFAULT_PORT = 9999
DEFAULT_PUBLISH_PORT = 9998


def topic_manager_proxy(port: int = DEFAULT_PORT, host: str | None = None) -> str:
    """The TopicManager proxy string components use (``Proxies.TopicManager``)."""
    where = f" -h {host}" if host else ""
    return f"IceStorm/TopicManager:tcp{where} -p {port}"


def icebox_command(port: int, publish_port: int, host: str | None = None,
                   config: Path = RCNODE_CONFIG) -> list[str]:
    """The icebox command line: etc/rcnode.conf with the two endpoints overridden."""
    icebox = shutil.which("icebox")
    if icebox is None:
        raise FileNotFoundError("icebox not found: install ZeroC IceBox/IceStorm 3.7 (make setup)")
    if not Path(config).is_file():
        raise FileNotFoundError(f"rcnode config {config} is missing")
    where = f" -h {host}" if host else ""
    return [icebox, f"--Ice.Config={config}",
            f"--IceStorm.TopicManager.Endpoints=tcp{where} -p {port}",
            f"--IceStorm.Publish.Endpoints=tcp{where} -p {publish_port}"]


def ping_topic_manager(proxy: str, timeout_ms: int = 1000) -> bool:
    """True when the TopicManager at ``proxy`` answers."""
    load_interfaces()
    communicator = make_communicator()
    try:
        communicator.stringToProxy(proxy).ice_timeout(timeout_ms).ice_invocationTimeout(timeout_ms).ice_ping()
        return True
    except Exception:
        return False
    finally:
        communicator.destroy()


class RcNode:
    """icebox + IceStorm (loopback by default); free ports picked when none are given. Restartable on the same ports."""

    def __init__(self, port: int | None = None, publish_port: int | None = None, host: str | None = LOOPBACK,
                 config: Path = RCNODE_CONFIG, log_path: Path | None = None) -> None:
        """``host`` None listens on every interface (RoboComp's rcnode), clients then use localhost."""
        if port is None or publish_port is None:
            picked = free_ports(2, host or LOOPBACK)
            port = port if port is not None else picked[0]
            publish_port = publish_port if publish_port is not None else picked[1]
        self.port, self.publish_port, self.host = port, publish_port, host
        self.process = ManagedProcess(icebox_command(port, publish_port, host, config), log_path=log_path,
                                      name="rcnode")

    @property
    def proxy(self) -> str:
        """TopicManager proxy string for this rcnode."""
        return topic_manager_proxy(self.port, self.host)

    def start(self, timeout_s: float = 10.0) -> "RcNode":
        """Check both ports are free (OSError), start icebox and wait until the TopicManager answers;
        RuntimeError with icebox's last line as soon as it exits or after ``timeout_s``."""
        for port, what in ((self.port, "TopicManager port"), (self.publish_port, "IceStorm publish port")):
            check_port_free(port, self.host or "", what)
        self.process.start()
        if not wait_until(lambda: ping_topic_manager(self.proxy), timeout_s, interval_s=0.1,
                          give_up=lambda: not self.process.running):
            self.process.stop()
            why = (f"icebox exited ({self.process.returncode})" if self.process.returncode not in (None, -15, -9)
                   else f"rcnode did not answer on {self.proxy} within {timeout_s:g} s")
            raise RuntimeError(f"{why}: {self.process.last_line() or 'no output'}")
        return self

    def stop(self) -> None:
        self.process.stop()

    def kill(self) -> None:
        """SIGKILL icebox (a crash, for fault tests)."""
        self.process.kill()

    def __enter__(self) -> "RcNode":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
