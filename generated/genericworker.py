"""GenericWorker: the event-driven compute loop and CommonBehavior, headless (no Qt). Behaviour is in
src/specificworker.py; this file only times ``compute()`` and answers rcmonitor.

The loop is event-driven: ``wake()`` (called when a frame arrives) runs ``compute()`` at once, and
``Period.Compute`` is only the longest wait between two compute calls (the poll period when nothing wakes
it). A wake during ``compute()`` is not lost: the next call starts as soon as this one returns.

Refused changes (setPeriod, setParameterList, reloadConfig) raise ValueError with the reason; Ice hands
it to the client as ``Ice.UnknownException`` whose ``unknown`` text carries that reason (CommonBehavior's
slice declares no user exception, and old rcmonitor clients must keep working).
"""

import threading
import time
import traceback
from pathlib import Path
from typing import Any

from configloader import INTERFACE_PARAMETERS, load_component_config
from emotion.middleware.config import Value
from emotion.middleware.parameters import ParameterSet, ParameterSpec, format_value
from emotion.middleware.slices import load_interfaces

RoboCompCommonBehavior = load_interfaces().RoboCompCommonBehavior


class GenericWorker:
    """Runs ``compute()`` on every ``wake()`` and at least every ``Period.Compute`` ms, in its own thread,
    until ``stop()``."""

    PARAMETERS: tuple[ParameterSpec, ...] = (
        ParameterSpec("Period.Compute", int, 50, editable=True, minimum=1, maximum=3_600_000,
                      doc="longest wait between compute calls in ms (a wake() runs compute at once)"),
    )

    def __init__(self, mprx: dict[str, Any], params: ParameterSet, config_path: Path | str | None = None) -> None:
        self.mprx = mprx
        self.params = params
        self.config_path = Path(config_path) if config_path else None
        self.state = RoboCompCommonBehavior.State.Starting
        self.compute_errors = 0
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
        return int(self.params["Period.Compute"])

    @Period.setter
    def Period(self, period: int) -> None:
        self._apply({"Period.Compute": period})

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
        self.state = RoboCompCommonBehavior.State.Running
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
        return {"Stats.compute_errors": self.compute_errors}

    def parameters_changed(self, applied: dict[str, Value]) -> None:
        """Called after parameters changed at run time (setPeriod, setParameterList, reloadConfig)."""
        if "Period.Compute" in applied:
            self._wake.set()

    # --- CommonBehavior -----------------------------------------------------------------------------
    def CommonBehavior_getPeriod(self) -> int:
        return self.Period

    def CommonBehavior_setPeriod(self, period: int) -> None:
        self._apply({"Period.Compute": period})

    def CommonBehavior_timeAwake(self) -> int:
        return int(time.monotonic() - self._started_at)

    def CommonBehavior_killYourSelf(self) -> None:
        print("killYourSelf: stopping")
        self.stop()

    def CommonBehavior_getState(self) -> Any:
        return self.state

    def CommonBehavior_getParameterList(self) -> dict[str, Any]:
        Parameter = RoboCompCommonBehavior.Parameter
        result = {}
        for name, value in self.params.snapshot().items():
            spec = self.params.specs[name]
            result[name] = Parameter(editable=spec.editable, value=format_value(value), type=spec.type_name)
        for name, value in self.counters().items():
            kind = {bool: "bool", int: "int", float: "float"}.get(type(value), "string")
            result[name] = Parameter(editable=False, value=format_value(value), type=kind)
        return result

    def CommonBehavior_setParameterList(self, parameters: dict[str, Any]) -> None:
        """Apply the editable entries that differ from the current values (all or none)."""
        current = {name: format_value(v) for name, v in self.params.snapshot().items()}
        counters = self.counters()
        changes = {name: p.value for name, p in parameters.items()
                   if name not in counters and current.get(name) != p.value}
        self._apply(changes)

    def CommonBehavior_reloadConfig(self) -> None:
        """Re-read the config file: editable values take effect now, others are reported as needing a restart."""
        if self.config_path is None:
            raise ValueError("no config file to reload (the component was started without one)")
        try:
            _, fresh = load_component_config(self.config_path, self.params.specs.values())
        except Exception as exc:
            raise ValueError(f"reloadConfig refused: {exc}") from None
        old, new = self.params.snapshot(), fresh.snapshot()
        changed = {name: value for name, value in new.items() if old[name] != value}
        restart = [name for name in changed if not self.params.specs[name].editable]
        if restart:
            print(f"reloadConfig: restart to apply {', '.join(restart)}")
        self._apply({name: value for name, value in changed.items() if name not in restart})

    def _apply(self, changes: dict[str, Any]) -> None:
        if not changes:
            return
        applied = self.params.update(changes)
        print("parameters changed: " + ", ".join(f"{k} = {format_value(v)}" for k, v in applied.items()))
        self.parameters_changed(applied)
