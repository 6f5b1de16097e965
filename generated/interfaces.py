"""InterfaceManager of emotionrecognition (robocompdsl's shape): what emotionrecognition.cdsl declares.

- Requires: CameraRGBDSimple, CameraSimple (``mprx["<Iface>Proxy"]``; a proxy connects on its first call).
- Publishes: EmotionRecognitionPub (``mprx["EmotionRecognitionPub"]``, kept fresh by the TopicLink).
- Implements: EmotionRecognition, FacialEmotionRecognition and CommonBehavior.
- SubscribesTo: CameraRGBDSimplePub (only in ``Camera.Mode = "push"``).

Policies (error translation, adapter fallback, topic healing, which camera source is wired) live in
``emotion.middleware`` and ``emotion.camera``.
"""

from typing import Any

import Ice

import camerargbdsimplepubI
import commonbehaviorI
import emotionrecognitionI
import facialemotionrecognitionI
from emotion.camera.sources import subscribed_topics
from emotion.middleware.communicator import make_communicator
from emotion.middleware.config import Config
from emotion.middleware.parameters import ParameterSet
from emotion.middleware.slices import load_interfaces
from emotion.middleware.startup import StartupError, bind_host, config_value, endpoints_key
from emotion.middleware.topics import CALL_TIMEOUT_MS, TopicLink, topic_name

ifaces = load_interfaces()


class Requires:
    def __init__(self, communicator: Ice.Communicator, params: ParameterSet) -> None:
        self.communicator = communicator
        self.params = params
        self.mprx: dict[str, Any] = {}
        self.CameraRGBDSimple = self.create_proxy("CameraRGBDSimple", ifaces.RoboCompCameraRGBDSimple.CameraRGBDSimplePrx)
        self.CameraSimple = self.create_proxy("CameraSimple", ifaces.RoboCompCameraSimple.CameraSimplePrx)

    def create_proxy(self, name: str, ice_proxy: Any) -> Any:
        with config_value(self.params, f"Proxies.{name}") as proxy_string:
            base = self.communicator.stringToProxy(proxy_string)
        proxy = ice_proxy.uncheckedCast(base.ice_invocationTimeout(CALL_TIMEOUT_MS))
        self.mprx[f"{name}Proxy"] = proxy
        return proxy


class Publishes:
    def __init__(self, topic_link: TopicLink, params: ParameterSet) -> None:
        self.topic_link = topic_link
        self.params = params
        self.mprx: dict[str, Any] = {}
        self.emotionrecognitionpub = self.create_topic(
            "EmotionRecognitionPub", ifaces.RoboCompEmotionRecognitionPub.EmotionRecognitionPubPrx)

    def create_topic(self, name: str, ice_proxy: Any) -> Any:
        prefix = str(self.params[f"Endpoints.{name}Prefix"])
        self.mprx[name] = self.topic_link.publisher(topic_name(name, prefix), ice_proxy)
        return self.mprx[name]


class Adapters:
    """Object adapters by config key, activated together once every servant is added."""

    def __init__(self, communicator: Ice.Communicator, params: ParameterSet) -> None:
        self.communicator = communicator
        self.params = params
        self.by_key: dict[str, Ice.ObjectAdapter] = {}

    def get(self, key: str) -> Ice.ObjectAdapter:
        if key not in self.by_key:
            with config_value(self.params, key) as endpoints:
                endpoints = bind_host(endpoints, str(self.params["Endpoints.Host"]))
                self.by_key[key] = self.communicator.createObjectAdapterWithEndpoints(key.split(".")[-1], endpoints)
        return self.by_key[key]

    def activate(self) -> None:
        for key, adapter in self.by_key.items():
            with config_value(self.params, key):
                adapter.activate()


class Implements:
    def __init__(self, adapters: Adapters, params: ParameterSet, default_handler: Any) -> None:
        self.adapters = adapters
        self.params = params
        self.emotionrecognition = self.create_adapter(
            "EmotionRecognition", emotionrecognitionI.EmotionRecognitionI(default_handler))
        self.facialemotionrecognition = self.create_adapter(
            "FacialEmotionRecognition", facialemotionrecognitionI.FacialEmotionRecognitionI(default_handler))
        self.commonbehavior = self.create_adapter("CommonBehavior", commonbehaviorI.CommonBehaviorI(default_handler))

    def create_adapter(self, name: str, handler: Any) -> Ice.ObjectAdapter:
        adapter = self.adapters.get(endpoints_key(self.params, name, fallback="EmotionRecognition"))
        adapter.add(handler, Ice.stringToIdentity(name.lower()))
        return adapter


class Subscribes:
    def __init__(self, adapters: Adapters, topic_link: TopicLink, params: ParameterSet, default_handler: Any) -> None:
        self.adapters = adapters
        self.topic_link = topic_link
        self.params = params
        topics = subscribed_topics(str(params["Camera.Mode"]))
        self.CameraRGBDSimplePub = self.create_adapter(
            "CameraRGBDSimplePub", camerargbdsimplepubI.CameraRGBDSimplePubI(default_handler)
        ) if "CameraRGBDSimplePub" in topics else None

    def create_adapter(self, name: str, handler: Any) -> Ice.ObjectAdapter:
        adapter = self.adapters.get(f"Endpoints.{name}Topic")
        proxy = adapter.addWithUUID(handler).ice_oneway()
        self.topic_link.subscribe(topic_name(name, str(self.params[f"Endpoints.{name}Prefix"])), proxy)
        return adapter


class InterfaceManager:
    def __init__(self, config: Config, params: ParameterSet) -> None:
        self.params = params
        self.communicator = make_communicator(config.section("Ice"))
        try:
            with config_value(params, "Proxies.TopicManager") as topic_manager:
                self.topic_link = TopicLink(self.communicator, topic_manager,
                                            interval_s=float(params["TopicLink.IntervalS"]))
            self.requires = Requires(self.communicator, params)
        except StartupError:
            self.communicator.destroy()
            raise
        self.publishes = Publishes(self.topic_link, params)
        self.adapters = Adapters(self.communicator, params)
        self.implements = None
        self.subscribes = None

    def set_default_handler(self, handler: Any) -> None:
        self.implements = Implements(self.adapters, self.params, handler)
        self.subscribes = Subscribes(self.adapters, self.topic_link, self.params, handler)
        self.adapters.activate()

    def get_proxies_map(self) -> dict[str, Any]:
        return {**self.requires.mprx, **self.publishes.mprx}

    def start(self) -> None:
        """Link to rcnode (now if reachable, else in the background)."""
        self.topic_link.start()

    def destroy(self) -> None:
        self.topic_link.stop()
        self.communicator.destroy()
