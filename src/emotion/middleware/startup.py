"""Starting a component: Ice errors as one line naming the config key, the adapter plan, the startup check.

A bad proxy or endpoint, an unknown host or a port in use raises ``StartupError``: one line naming the
config key, its value and the reason (the main script prints it and exits).
"""

import contextlib
import os
import sys
from typing import Iterator

import Ice

from emotion.middleware.parameters import ParameterSet
from emotion.middleware.slices import load_interfaces

STARTUP_FAULTS = (OSError, ValueError)
"""Besides StartupError, what a bad deployment raises while starting (unusable weights are a ValueError)."""


class StartupError(RuntimeError):
    """The component cannot start as configured; ``str()`` is one line naming the config key."""


def ice_reason(exc: Exception) -> str:
    """A one-line reason for an Ice error (Ice's own ``str()`` spans several lines)."""
    if isinstance(exc, (Ice.EndpointParseException, Ice.ProxyParseException)):
        return exc.str
    if isinstance(exc, Ice.DNSException):
        return f"unknown host {exc.host!r}"
    if isinstance(exc, Ice.SyscallException) and exc.error:
        return f"{os.strerror(exc.error)} ({type(exc).__name__})"
    lines = [line.strip() for line in str(exc).splitlines() if line.strip() not in ("", "{", "}")]
    return "; ".join(lines) or type(exc).__name__


@contextlib.contextmanager
def config_value(params: ParameterSet, key: str) -> Iterator[str]:
    """The value of config ``key``; an Ice error raised while using it becomes a StartupError naming it."""
    value = str(params[key])
    try:
        yield value
    except Ice.Exception as exc:
        raise StartupError(f"{key} = {value!r}: {ice_reason(exc)}") from None


def bind_host(endpoints: str, host: str) -> str:
    """``endpoints`` (Ice's ``ep : ep``) with ``-h host`` added to each that names no host itself
    (``host`` empty: unchanged, i.e. every interface)."""
    if not host.strip():
        return endpoints
    parts = [part.strip() for part in endpoints.split(":")]
    return " : ".join(part if not part or "-h" in part.split() else f"{part} -h {host}" for part in parts)


def endpoints_key(params: ParameterSet, interface: str, fallback: str) -> str:
    """The config key whose adapter serves ``interface``: ``Endpoints.<interface>``, or the ``fallback``
    interface's key when that is empty (CommonBehavior on the main port)."""
    key = f"Endpoints.{interface}"
    return key if str(params[key]).strip() else f"Endpoints.{fallback}"


def report_startup_error(exc: Exception, prog: str) -> int:
    """Print ``exc`` as one error line (re-raise under EMOTION_DEBUG); exit status 1."""
    if os.environ.get("EMOTION_DEBUG"):
        raise exc
    reason = " ".join(str(exc).split()) or type(exc).__name__
    print(f"{prog}: start-up error: {reason}", file=sys.stderr)
    return 1


def interface_structs() -> list[tuple[str, type]]:
    """Every struct type of the component's interfaces as (Module.Name, type), IceStorm's excluded.

    Structs are the generated classes that are neither servants, values, proxies, enums nor exceptions.
    """
    special = (Ice.Object, Ice.Value, Ice.ObjectPrx, Ice.EnumBase, Ice.UserException)
    structs = []
    for module in vars(load_interfaces()).values():
        if module.__name__ == "IceStorm":
            continue
        for name, cls in sorted(vars(module).items()):
            if (isinstance(cls, type) and not name.startswith("_") and cls.__module__ == module.__name__
                    and not issubclass(cls, special)):
                structs.append((f"{module.__name__}.{name}", cls))
    return structs


def startup_check() -> int:
    """Build every struct of every interface once (robocompdsl's ``--startup-check``); how many were built."""
    for name, cls in interface_structs():
        print(f"startup check: {name}() -> {type(cls()).__name__}")
    return len(interface_structs())

