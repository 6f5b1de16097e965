"""Ice communicators built from property dicts (config sections, tool options)."""

from typing import Mapping

import Ice

from emotion.middleware.config import Value
from emotion.middleware.parameters import format_value

DEFAULT_PROPERTIES: dict[str, str] = {
    "Ice.Warn.Connections": "0",
    "Ice.Warn.Dispatch": "0",               # refusals are logged by the component, rate-limited
    "Ice.MessageSizeMax": "16384",          # KiB: a 1920x1080 raw frame with its depth fits (etc/config)
    "Ice.ThreadPool.Server.Size": "4",      # a slow call does not hold up frames and queries
    "Ice.Override.ConnectTimeout": "2000",  # ms: an unreachable host fails fast instead of hanging
}


def make_communicator(properties: Mapping[str, Value] | None = None) -> Ice.Communicator:
    """An Ice communicator with DEFAULT_PROPERTIES, overridden by ``properties`` (e.g. a config's Ice.*)."""
    props = Ice.createProperties()
    for key, value in {**DEFAULT_PROPERTIES, **(properties or {})}.items():
        props.setProperty(key, format_value(value))
    data = Ice.InitializationData()
    data.properties = props
    return Ice.initialize(data)
