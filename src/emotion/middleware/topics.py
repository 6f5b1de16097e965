"""IceStorm links that outlive rcnode: retrieve-or-create topics, subscribe, publish, and heal by themselves.

A ``TopicLink`` owns every subscription and publisher of one process. A background thread re-checks them
every ``interval_s``: while the TopicManager is unreachable it logs RoboComp's "Cannot connect to rcnode!"
line once and keeps retrying; after IceStorm restarts (topics and subscribers gone) it re-creates the
topics, subscribes again and re-fetches the publishers, so nothing needs restarting.
"""

import threading
import traceback
from typing import Any, Callable

import Ice

from emotion.middleware.slices import load_interfaces

CANNOT_CONNECT = "Cannot connect to rcnode! This must be running to use pub/sub."
DEFAULT_TOPIC_MANAGER = "IceStorm/TopicManager:tcp -h localhost -p 9999"
"""rcnode on this machine at RoboComp's port: the default of the component and of every tool."""
CALL_TIMEOUT_MS = 2000


class TopicUnavailable(RuntimeError):
    """A publish while the topic's publisher is not known (rcnode not reached yet)."""


def topic_name(interface: str, prefix: str = "") -> str:
    """RoboComp's topic name: the interface name, optionally ``prefix/Interface``."""
    return f"{prefix}/{interface}" if prefix else interface


def retrieve_or_create(topic_manager: Any, name: str) -> Any:
    """The topic ``name``, created when it does not exist yet (races with other creators are fine)."""
    IceStorm = load_interfaces().IceStorm
    try:
        return topic_manager.retrieve(name)
    except IceStorm.NoSuchTopic:
        try:
            return topic_manager.create(name)
        except IceStorm.TopicExists:
            return topic_manager.retrieve(name)


class Publisher:
    """Stand-in for a topic's publisher proxy: ``pub.pushX(...)`` goes to the current one.

    Raises TopicUnavailable while no publisher has been fetched yet; Ice errors of the call itself (rcnode
    gone since the last check) propagate, and the link fetches a fresh publisher on its next round.
    """

    def __init__(self, topic: str, proxy_class: Any) -> None:
        self.topic = topic
        self.proxy_class = proxy_class
        self._proxy: Any = None

    def current(self) -> Any:
        """The publisher proxy now in use, or None."""
        return self._proxy

    def _set(self, proxy: Any) -> None:
        self._proxy = proxy

    def __getattr__(self, operation: str) -> Callable:
        proxy = self._proxy
        if proxy is None:
            raise TopicUnavailable(f"no publisher for topic {self.topic!r} yet: {CANNOT_CONNECT}")
        return getattr(proxy, operation)


class TopicLink:
    """Subscriptions and publishers on one TopicManager, kept alive by a background thread."""

    def __init__(self, communicator: Ice.Communicator, topic_manager: str, interval_s: float = 1.0,
                 log: Callable[[str], None] = print) -> None:
        if interval_s <= 0:
            raise ValueError(f"interval_s must be > 0, got {interval_s}")
        IceStorm = load_interfaces().IceStorm
        base = communicator.stringToProxy(topic_manager).ice_invocationTimeout(CALL_TIMEOUT_MS)
        self.topic_manager_proxy = topic_manager
        self._manager = IceStorm.TopicManagerPrx.uncheckedCast(base)
        self.interval_s = interval_s
        self.log = log
        self._subscriptions: dict[str, Any] = {}
        self._publishers: dict[str, Publisher] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.connected = False
        self.subscribe_count = 0
        self._reported_down = False

    def publisher(self, topic: str, proxy_class: Any) -> Publisher:
        """A Publisher for ``topic``, filled in as soon as rcnode is reachable."""
        with self._lock:
            return self._publishers.setdefault(topic, Publisher(topic, proxy_class))

    def subscribe(self, topic: str, proxy: Any) -> None:
        """Keep ``proxy`` (a servant's proxy; sent oneway) subscribed to ``topic``."""
        with self._lock:
            self._subscriptions[topic] = proxy.ice_oneway()

    def refresh(self) -> bool:
        """One round: reach rcnode, (re)subscribe and (re)fetch publishers. True when all succeeded."""
        with self._lock:
            subscriptions = dict(self._subscriptions)
            publishers = dict(self._publishers)
        try:
            for name, proxy in subscriptions.items():
                self._ensure_subscribed(name, proxy)
            for name, publisher in publishers.items():
                fresh = retrieve_or_create(self._manager, name).getPublisher().ice_oneway()
                if fresh != publisher.current():
                    publisher._set(publisher.proxy_class.uncheckedCast(fresh))
        except Ice.LocalException as exc:
            self.connected = False
            if not self._reported_down:
                self.log(f"{CANNOT_CONNECT} ({self.topic_manager_proxy}: {type(exc).__name__}); retrying every "
                         f"{self.interval_s:g} s")
                self._reported_down = True
            return False
        if not self.connected:
            self.log(f"rcnode linked at {self.topic_manager_proxy}")
        self.connected = True
        self._reported_down = False
        return True

    def _ensure_subscribed(self, name: str, proxy: Any) -> None:
        IceStorm = load_interfaces().IceStorm
        topic = retrieve_or_create(self._manager, name)
        if proxy.ice_getIdentity() in topic.getSubscribers():
            return
        try:
            topic.subscribeAndGetPublisher({}, proxy)
        except IceStorm.AlreadySubscribed:
            return
        self.subscribe_count += 1
        self.log(f"subscribed to topic {name!r}")

    def start(self) -> None:
        """First round now (so a reachable rcnode is linked before start returns), then in the background."""
        if self._thread is not None:
            return
        self.refresh()
        self._thread = threading.Thread(target=self._run, name="topic-link", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                self.refresh()
            except Exception:  # never let the link thread die: report and try again next round
                traceback.print_exc()

    def stop(self) -> None:
        """Stop the thread and unsubscribe (best effort: rcnode may be gone)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.interval_s + CALL_TIMEOUT_MS / 1000.0)
        if not self.connected:
            return
        for name, proxy in self._subscriptions.items():
            try:
                self._manager.retrieve(name).unsubscribe(proxy)
            except (Ice.Exception,):
                pass
