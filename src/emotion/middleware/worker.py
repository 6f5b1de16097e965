"""The component's worker policies, under the generated GenericWorker: the compute loop and CommonBehavior.

The loop is event-driven: ``wake()`` (called when a frame arrives) runs ``compute()`` at once, and
``Period.Compute`` is only the longest wait between two compute calls (the poll period when nothing wakes
it). A wake during ``compute()`` is not lost: the next call starts as soon as this one returns.

``setPeriod`` outside ``Period.Compute``'s range (rcmonitor's spin box reaches 0) is clamped to it, with a
log line saying so. Refused changes (setParameterList, reloadConfig) raise ValueError with the reason; Ice
hands it to the client as ``Ice.UnknownException`` whose ``unknown`` text carries that reason
(CommonBehavior's slice declares no user exception, and old rcmonitor clients must keep working). Each
refusal is also logged through the rate-limited log (``self.log``), with the caller's values cut short
(``emotion.middleware.parameters.shown``), so a client repeating a refused call cannot flood the log
(``Ice.Warn.Dispatch = 0`` keeps Ice from printing its own traceback for it). ``reloadConfig`` reads only
a regular file of at most ``emotion.middleware.config.MAX_CONFIG_BYTES`` (a FIFO there cannot block it).
"""

import threading
import time
import traceback
from pathlib import Path
from typing import Any, Mapping

from emotion.middleware.componentconfig import INTERFACE_PARAMETERS, load_component_config
from emotion.middleware.config import Value
from emotion.middleware.parameters import ParameterSet, ParameterSpec, format_value
from emotion.middleware.ratelimit import RateLimitedLog, message_shape
from emotion.middleware.slices import load_interfaces

PERIOD_KEY = "Period.Compute"


def parameter_changes(params: ParameterSet, requested: Mapping[str, str], read_only: set[str]) -> dict[str, str]:
    """The entries of a setParameterList that differ from the current values (``read_only``: counters)."""
    current = {name: format_value(v) for name, v in params.snapshot().items()}
    return {name: value for name, value in requested.items() if name not in read_only and current.get(name) != value}


def reload_changes(params: ParameterSet, config_path: Path | None) -> tuple[dict[str, Value], list[str]]:
    """What re-reading the config changes: (editable values to apply now, keys that need a restart).

    ValueError with the reason when there is no file or it is unusable.
    """
    if config_path is None:
        raise ValueError("no config file to reload (the component was started without one)")
    try:
        _, fresh = load_component_config(config_path, params.specs.values())
    except Exception as exc:
        raise ValueError(f"reloadConfig refused: {exc}") from None
    old, new = params.snapshot(), fresh.snapshot()
    changed = {name: value for name, value in new.items() if old[name] != value}
    restart = [name for name in changed if not params.specs[name].editable]
    return {name: value for name, value in changed.items() if name not in restart}, restart


def counter_type(value: Value) -> str:
    """CommonBehavior's Parameter.type of a counter value."""
    return {bool: "bool", int: "int", float: "float"}.get(type(value), "string")


class ComponentWorker:
    """Runs ``compute()`` on every ``wake()`` and at least every ``Period.Compute`` ms, in its own thread,
    until ``stop()``; answers CommonBehavior from its ParameterSet."""

    PARAMETERS: tuple[ParameterSpec, ...] = (
        ParameterSpec(PERIOD_KEY, int, 50, editable=True, minimum=1, maximum=3_600_000,
                      doc="longest wait between compute calls in ms (a wake() runs compute at once)"),
    )

    def __init__(self, params: ParameterSet, config_path: Path | str | None = None) -> None:
        self.params = params
        self.config_path = Path(config_path) if config_path else None
        self.behavior = load_interfaces().RoboCompCommonBehavior
        self.state = self.behavior.State.Starting
        self.compute_errors = 0
        self.refusals = 0
        self.log = RateLimitedLog()
        self._started_at = time.monotonic()
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    @classmethod
    def all_parameters(cls) -> tuple[ParameterSpec, ...]:
        """Every config key the component understands: interfaces, then this class's hierarchy."""
        return INTERFACE_PARAMETERS + cls.PARAMETERS

    # --- the loop -----------------------------------------------------------------------------------
    @property
    def Period(self) -> int:
        return int(self.params[PERIOD_KEY])

    @Period.setter
    def Period(self, period: int) -> None:
        self.apply({PERIOD_KEY: period})

    def compute(self) -> None:
        """One round of work (SpecificWorker overrides it)."""

    def wake(self) -> None:
        """Run ``compute()`` now instead of at the end of the period (thread-safe, cheap, idempotent)."""
        self._wake.set()

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="compute", daemon=True)
            self._thread.start()

    def _loop(self) -> None:
        self.state = self.behavior.State.Running
        while not self._stop.is_set():
            started = time.monotonic()
            self._wake.clear()  # before compute: a wake() during it makes the next round start at once
            try:
                self.compute()
            except Exception:
                self.compute_errors += 1
                traceback.print_exc()
            remaining = self.Period / 1000.0 - (time.monotonic() - started)
            if remaining > 0:
                self._wake.wait(remaining)

    def stop(self) -> None:
        """Ask the loop (and the component's main thread) to finish."""
        self._stop.set()
        self._wake.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def wait_stopped(self, timeout_s: float | None = None) -> bool:
        """Block until ``stop()`` was called (in small steps, so signal handlers run); True when stopped."""
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        while not self._stop.wait(0.2):
            if deadline is not None and time.monotonic() >= deadline:
                return False
        if self._thread is not None:
            self._thread.join(timeout=5.0)
        return True

    # --- hooks for SpecificWorker -------------------------------------------------------------------
    def counters(self) -> dict[str, Value]:
        """Live read-only figures shown by getParameterList (SpecificWorker adds its own)."""
        return {"Stats.compute_errors": self.compute_errors, "Stats.refusals": self.refusals}

    def parameters_changed(self, applied: dict[str, Value]) -> None:
        """Called after parameters changed at run time (setPeriod, setParameterList, reloadConfig)."""
        if PERIOD_KEY in applied:
            self._wake.set()

    def apply(self, changes: Mapping[str, Any]) -> dict[str, Value]:
        """Validate and apply ``changes`` together (all or none; ValueError with the reason); the applied values."""
        if not changes:
            return {}
        applied = self.params.update(changes)
        print("parameters changed: " + ", ".join(f"{k} = {format_value(v)}" for k, v in applied.items()))
        self.parameters_changed(applied)
        return applied

    # --- CommonBehavior -----------------------------------------------------------------------------
    def CommonBehavior_getPeriod(self) -> int:
        return self.Period

    def CommonBehavior_setPeriod(self, period: int) -> None:
        """Set ``Period.Compute``; a period outside its range is clamped to it (logged), never refused."""
        spec = self.params.specs[PERIOD_KEY]
        clamped = int(min(max(period, spec.minimum), spec.maximum))
        if clamped != period:
            print(f"setPeriod({period}): outside {int(spec.minimum)}..{int(spec.maximum)} ms, period set to {clamped} ms")
        self.apply({PERIOD_KEY: clamped})

    def CommonBehavior_timeAwake(self) -> int:
        return int(time.monotonic() - self._started_at)

    def CommonBehavior_killYourSelf(self) -> None:
        print("killYourSelf: stopping")
        self.stop()

    def CommonBehavior_getState(self) -> Any:
        return self.state

    def CommonBehavior_getParameterList(self) -> dict[str, Any]:
        Parameter = self.behavior.Parameter
        result = {}
        for name, value in self.params.snapshot().items():
            spec = self.params.specs[name]
            result[name] = Parameter(editable=spec.editable, value=format_value(value), type=spec.type_name)
        for name, value in self.counters().items():
            result[name] = Parameter(editable=False, value=format_value(value), type=counter_type(value))
        return result

    def refused(self, call: str, exc: Exception) -> ValueError:
        """Count and log (rate-limited) a refused CommonBehavior call; the ValueError to raise to the client."""
        self.refusals += 1
        reason = str(exc)
        self.log.report(f"{call} refused", reason, detail=message_shape(reason))
        return ValueError(reason)

    def CommonBehavior_setParameterList(self, parameters: dict[str, Any]) -> None:
        """Apply the editable entries that differ from the current values (all or none)."""
        try:
            requested = {name: p.value for name, p in parameters.items()}
            self.apply(parameter_changes(self.params, requested, set(self.counters())))
        except (ValueError, TypeError, AttributeError) as exc:
            raise self.refused("setParameterList", exc) from None

    def CommonBehavior_reloadConfig(self) -> None:
        """Re-read the config file: editable values take effect now, others are reported as needing a restart."""
        try:
            now, restart = reload_changes(self.params, self.config_path)
            if restart:
                print(f"reloadConfig: restart to apply {', '.join(restart)}")
            self.apply(now)
        except ValueError as exc:
            raise self.refused("reloadConfig", exc) from None
