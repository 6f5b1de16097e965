"""A real emotionrecognition process on free loopback ports, for tests, the demo and benchmarks."""

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

from emotion.middleware.communicator import make_communicator
from emotion.middleware.config import Value, load_config, render_config
from emotion.middleware.processes import LOOPBACK, ManagedProcess, free_ports, wait_until
from emotion.middleware.slices import load_interfaces
from emotion.middleware.topics import CALL_TIMEOUT_MS
from emotion.paths import REPO_ROOT

COMPONENT_MAIN: Path = REPO_ROOT / "generated" / "emotionrecognition.py"
DEFAULT_CONFIG: Path = REPO_ROOT / "etc" / "config"


@dataclass(frozen=True)
class ComponentPorts:
    """The loopback ports of one component instance."""

    emotionrecognition: int
    commonbehavior: int
    camera_topic: int
    camera: int

    @classmethod
    def pick(cls) -> "ComponentPorts":
        return cls(*free_ports(4))

    def proxy(self, identity: str, host: str = LOOPBACK) -> str:
        """``identity:tcp -h HOST -p PORT`` for ``emotionrecognition`` or ``commonbehavior``."""
        port = {"emotionrecognition": self.emotionrecognition, "commonbehavior": self.commonbehavior}[identity]
        return f"{identity}:tcp -h {host} -p {port}"


def write_component_config(path: Path, topic_manager: str, ports: ComponentPorts,
                           overrides: Mapping[str, Value] | None = None) -> Path:
    """etc/config with loopback endpoints, ``topic_manager`` and ``overrides`` applied, written to ``path``."""
    values = dict(load_config(DEFAULT_CONFIG).values)
    values.update({
        "Proxies.TopicManager": topic_manager,
        "Proxies.CameraRGBDSimple": f"camerargbdsimple:tcp -h {LOOPBACK} -p {ports.camera}",
        "Proxies.CameraSimple": f"camerasimple:tcp -h {LOOPBACK} -p {ports.camera}",
        "Endpoints.EmotionRecognition": f"tcp -h {LOOPBACK} -p {ports.emotionrecognition}",
        "Endpoints.CommonBehavior": f"tcp -h {LOOPBACK} -p {ports.commonbehavior}",
        "Endpoints.CameraRGBDSimplePubTopic": f"tcp -h {LOOPBACK} -p {ports.camera_topic}",
    })
    values.update(overrides or {})
    path = Path(path)
    path.write_text(render_config(values))
    return path


class ComponentProcess:
    """generated/emotionrecognition.py on a config file, with CommonBehavior / EmotionRecognition clients."""

    def __init__(self, config_path: Path, ports: ComponentPorts, log_path: Path | None = None) -> None:
        self.config_path = Path(config_path)
        self.ports = ports
        self.process = ManagedProcess([sys.executable, "-u", str(COMPONENT_MAIN), str(self.config_path)],
                                      cwd=REPO_ROOT, log_path=log_path, name="emotionrecognition")
        self.modules = load_interfaces()
        self.communicator = make_communicator()

    def _proxy(self, identity: str, proxy_class: Any) -> Any:
        base = self.communicator.stringToProxy(self.ports.proxy(identity)).ice_invocationTimeout(CALL_TIMEOUT_MS)
        return proxy_class.uncheckedCast(base)

    def commonbehavior(self) -> Any:
        return self._proxy("commonbehavior", self.modules.RoboCompCommonBehavior.CommonBehaviorPrx)

    def emotionrecognition(self) -> Any:
        return self._proxy("emotionrecognition", self.modules.RoboCompEmotionRecognition.EmotionRecognitionPrx)

    def parameters(self) -> dict[str, str]:
        """getParameterList as name -> value string."""
        return {name: p.value for name, p in self.commonbehavior().getParameterList().items()}

    def stat(self, name: str) -> float:
        """One ``Stats.*`` counter (e.g. ``frames_received``)."""
        return float(self.parameters()[f"Stats.{name}"])

    def is_running(self) -> bool:
        return self.commonbehavior().getState() == self.modules.RoboCompCommonBehavior.State.Running

    def start(self, timeout_s: float = 15.0, give_up: Callable[[], bool] | None = None) -> "ComponentProcess":
        """Start and wait until getState() is Running; RuntimeError as soon as the process exits (with its
        last line: its start-up error), after ``timeout_s`` (with its output) or when ``give_up()``."""
        self.process.start()
        gone = (lambda: not self.process.running or give_up()) if give_up else (lambda: not self.process.running)
        if not wait_until(lambda: self.process.running and self.is_running(), timeout_s, interval_s=0.1,
                          give_up=gone):
            output, status = self.process.output().strip(), self.process.returncode
            self.stop()
            if status is not None:
                raise RuntimeError(f"the component exited ({status}): {self.process.last_line() or 'no output'}")
            raise RuntimeError(f"component not Running within {timeout_s:g} s:\n{output or 'no output'}")
        return self

    def stop(self, timeout_s: float = 5.0) -> int | None:
        """Stop the process (SIGTERM, then SIGKILL) and the client communicator; the exit status."""
        status = self.process.stop(timeout_s)
        self.communicator.destroy()
        return status

    def __enter__(self) -> "ComponentProcess":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
