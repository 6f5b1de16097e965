"""InterfaceManager: the component's Ice wiring (robocompdsl's shape, no behaviour).

- Requires: proxies of called interfaces (``CameraRGBDSimpleProxy``).
- Publishes: ``EmotionRecognitionPubPub``, a publisher kept fresh by the TopicLink.
- Implements: ``emotionrecognition`` and ``commonbehavior`` servants on their adapters.
- Subscribes: ``CameraRGBDSimplePub`` (with its prefix), re-subscribed after IceStorm restarts.

A bad proxy or endpoint, an unknown host or a port in use raises ``StartupError``: one line naming the
config key, its value and the reason (the main script prints it and exits).
"""

import contextlib
import os
from typing import Any, Iterator

import Ice

from camerargbdsimplepubI import CameraRGBDSimplePubI
from commonbehaviorI import CommonBehaviorI
from emotion.middleware.communicator import make_communicator
from emotion.middleware.config import Config
from emotion.middleware.parameters import ParameterSet
from emotion.middleware.slices import load_interfaces
from emotion.middleware.topics import TopicLink, topic_name
from emotionrecognitionI import EmotionRecognitionI

CALL_TIMEOUT_MS = 2000


class StartupError(RuntimeError):
    """The component cannot start as configured; ``str()`` is one line naming the config key."""


def ice_reason(exc: Exception) -> str:
    """A one-line reason for an Ice error (Ice's own ``str()`` spans several lines)."""
    if isinstance(exc, Ice.EndpointParseException):
        return exc.str
    if isinstance(exc, Ice.ProxyParseException):
        return exc.str
    if isinstance(exc, Ice.DNSException):
        return f"unknown host {exc.host!r}"
    if isinstance(exc, Ice.SyscallException) and exc.error:
        return f"{os.strerror(exc.error)} ({type(exc).__name__})"
    lines = [line.strip() for line in str(exc).splitlines() if line.strip() not in ("", "{", "}")]
    return "; ".join(lines) or type(exc).__name__


@contextlib.contextmanager
def config_value(key: str, value: str) -> Iterator[None]:
    """Turn an Ice error raised while using config ``key`` into a StartupError naming it."""
    try:
        yield
    except Ice.Exception as exc:
        raise StartupError(f"{key} = {value!r}: {ice_reason(exc)}") from None


class InterfaceManager:
    """Builds the communicator, proxies, publishers, adapters and subscriptions from the config."""

    def __init__(self, config: Config, params: ParameterSet) -> None:
        self.params = params
        self.modules = load_interfaces()
        self.communicator = make_communicator(config.section("Ice"))
        try:
            with config_value("Proxies.TopicManager", str(params["Proxies.TopicManager"])):
                self.topic_link = TopicLink(self.communicator, str(params["Proxies.TopicManager"]),
                                            interval_s=float(params["TopicLink.IntervalS"]))
            self.requires = self._requires()
        except StartupError:
            self.communicator.destroy()
            raise
        self.publishes = self._publishes()
        self.adapters: dict[str, tuple[Ice.ObjectAdapter, str]] = {}

    def _requires(self) -> dict[str, Any]:
        camera = self.modules.RoboCompCameraRGBDSimple
        with config_value("Proxies.CameraRGBDSimple", str(self.params["Proxies.CameraRGBDSimple"])):
            base = self.communicator.stringToProxy(str(self.params["Proxies.CameraRGBDSimple"]))
        return {"CameraRGBDSimpleProxy": camera.CameraRGBDSimplePrx.uncheckedCast(
            base.ice_invocationTimeout(CALL_TIMEOUT_MS))}

    def _publishes(self) -> dict[str, Any]:
        name = topic_name("EmotionRecognitionPub", str(self.params["Endpoints.EmotionRecognitionPubPrefix"]))
        prx = self.modules.RoboCompEmotionRecognitionPub.EmotionRecognitionPubPrx
        return {"EmotionRecognitionPubPub": self.topic_link.publisher(name, prx)}

    def get_proxies_map(self) -> dict[str, Any]:
        """What the workers receive as ``mprx``."""
        return {**self.requires, **self.publishes}

    def _adapter(self, name: str, key: str) -> Ice.ObjectAdapter:
        """Adapter ``name`` listening on the endpoints of config ``key`` (StartupError when it cannot)."""
        endpoints = str(self.params[key])
        with config_value(key, endpoints):
            adapter = self.communicator.createObjectAdapterWithEndpoints(name, endpoints)
        self.adapters[name] = (adapter, key)
        return adapter

    def set_default_handlers(self, worker: Any) -> None:
        """Serve the implemented interfaces and subscribe to the topics, forwarding to ``worker``."""
        main = self._adapter("EmotionRecognition", "Endpoints.EmotionRecognition")
        main.add(EmotionRecognitionI(worker), Ice.stringToIdentity("emotionrecognition"))
        behavior_endpoints = str(self.params["Endpoints.CommonBehavior"]).strip()
        behavior = self._adapter("CommonBehavior", "Endpoints.CommonBehavior") if behavior_endpoints else main
        behavior.add(CommonBehaviorI(worker), Ice.stringToIdentity("commonbehavior"))
        topic = self._adapter("CameraRGBDSimplePubTopic", "Endpoints.CameraRGBDSimplePubTopic")
        subscriber = topic.addWithUUID(CameraRGBDSimplePubI(worker)).ice_oneway()
        self.topic_link.subscribe(
            topic_name("CameraRGBDSimplePub", str(self.params["Endpoints.CameraRGBDSimplePubPrefix"])), subscriber)
        for adapter, key in self.adapters.values():
            with config_value(key, str(self.params[key])):
                adapter.activate()

    def start(self) -> None:
        """Link to rcnode (now if reachable, else in the background)."""
        self.topic_link.start()

    def destroy(self) -> None:
        self.topic_link.stop()
        self.communicator.destroy()


def startup_check() -> int:
    """Build every struct of every interface once (robocompdsl's ``--startup-check``); how many were built."""
    built = 0
    for module in vars(load_interfaces()).values():
        if module.__name__ == "IceStorm":
            continue
        for name in dir(module):
            cls = getattr(module, name)
            if (isinstance(cls, type) and hasattr(module, f"_t_{name}") and not name.endswith("Prx")
                    and not issubclass(cls, (Ice.Object, Ice.EnumBase))):
                print(f"startup check: {module.__name__}.{name}() -> {type(cls()).__name__}")
                built += 1
    return built
