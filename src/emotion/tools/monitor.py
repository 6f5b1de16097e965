"""`python -m emotion monitor`: an rcmonitor-style text view and control of a running component.

Calls CommonBehavior (state, period, time awake, parameters with the ``Stats.*`` counters) and
EmotionRecognition.getEmotionStates (the current faces), prints them once (``--once``) or every
``--interval`` seconds until Ctrl-C, redrawn in place on a terminal (ANSI), and can change the period
(``--set-period``) or any editable parameter (``--set KEY=VALUE``) first. Each figure carries its unit
and says what it is: a total (with its rate since the previous snapshot), a value now, the last
frame's time (with the mean over this monitor's snapshots) or the component's recent rate.

RoboComp's graphical rcmonitor works too: ``rcmonitor etc/emotionrecognition.rcm`` from the component root.
That file has rcmonitor's seven lines: slice file, identity, host, protocol, port (Endpoints.CommonBehavior),
refresh period in ms, and the rcmonitor script (its stock ``commonbehavior.py``).
"""

import argparse
import sys
import time
from dataclasses import dataclass, field
from typing import Any

import Ice

from emotion.middleware.communicator import make_communicator
from emotion.middleware.processes import stop_event_on_signals
from emotion.middleware.slices import load_interfaces
from emotion.middleware.topics import CALL_TIMEOUT_MS
from emotion.states import format_state
from emotion.tools.preflight import float_range, int_range

DESCRIPTION = "rcmonitor-style view and control of a running component (period, state, counters, faces)"
M = load_interfaces()


@dataclass
class Snapshot:
    """What the component reports at one moment."""

    state: str
    period_ms: int
    awake_s: int
    parameters: dict[str, tuple[str, bool]]
    """name -> (value, editable); the ``Stats.*`` entries are the counters."""
    faces: list[Any]
    """EmotionRecognition.EmotionState of each face in each camera's latest frame."""


class ComponentClient:
    """CommonBehavior and EmotionRecognition proxies of one component."""

    def __init__(self, communicator: Ice.Communicator, behavior: str, emotion: str) -> None:
        def proxy(text: str, cls: Any) -> Any:
            return cls.uncheckedCast(communicator.stringToProxy(text).ice_invocationTimeout(CALL_TIMEOUT_MS))

        self.behavior = proxy(behavior, M.RoboCompCommonBehavior.CommonBehaviorPrx)
        self.emotion = proxy(emotion, M.RoboCompEmotionRecognition.EmotionRecognitionPrx)

    def snapshot(self) -> Snapshot:
        params = self.behavior.getParameterList()
        return Snapshot(state=str(self.behavior.getState()), period_ms=self.behavior.getPeriod(),
                        awake_s=self.behavior.timeAwake(),
                        parameters={name: (p.value, p.editable) for name, p in sorted(params.items())},
                        faces=list(self.emotion.getEmotionStates()))

    def set_period(self, period_ms: int) -> None:
        """setPeriod; ValueError with the component's reason when it refuses."""
        _refusal_as_value_error(self.behavior.setPeriod, period_ms)

    def set_parameters(self, changes: dict[str, str]) -> None:
        """setParameterList with ``changes``; ValueError with the component's reason when it refuses."""
        current = self.behavior.getParameterList()
        unknown = [name for name in changes if name not in current]
        if unknown:
            raise ValueError(f"unknown parameter(s) {', '.join(unknown)}")
        update = {name: M.RoboCompCommonBehavior.Parameter(editable=current[name].editable, value=value,
                                                           type=current[name].type)
                  for name, value in changes.items()}
        _refusal_as_value_error(self.behavior.setParameterList, update)


def _refusal_as_value_error(call: Any, *args: Any) -> None:
    """Run an Ice call; a refusal (Ice.UnknownException carrying the reason) becomes ValueError(reason)."""
    try:
        call(*args)
    except Ice.UnknownException as exc:
        raise ValueError(exc.unknown.strip().splitlines()[-1]) from None


GAUGES = ("faces", "cameras")
"""Counters that are a value now (the others without a unit are totals since start)."""
CLEAR = "\x1b[H\x1b[J"
"""ANSI: cursor home, clear to the end of the screen."""


@dataclass
class StatsHistory:
    """What this monitor saw of the ``Stats.*`` figures: for rates of totals and means of times."""

    previous: tuple[float, dict[str, float]] | None = None
    times: dict[str, list[float]] = field(default_factory=dict)

    def describe(self, stats: dict[str, str], now: float) -> list[tuple[str, str, str]]:
        """(name, value with unit, what it is) per figure; records this snapshot."""
        values = {name: _number(text) for name, text in stats.items()}
        rows = []
        for name, text in stats.items():
            value = values[name]
            if value is None:
                rows.append((name, text, ""))
            elif name.endswith("_ms"):
                seen = self.times.setdefault(name, [])
                seen.append(value)
                rows.append((name, f"{value:g} ms", f"last frame; mean {sum(seen) / len(seen):.3g} ms over "
                             f"{len(seen)} snapshot{'s' * (len(seen) > 1)}"))
            elif name.endswith("_hz"):
                rows.append((name, f"{value:g} /s", "the component's rate over its last seconds"))
            elif name in GAUGES:
                rows.append((name, f"{value:g}", "now"))
            else:
                rows.append((name, f"{value:g}", self._rate(name, value, now)))
        self.previous = (now, values)
        return rows

    def _rate(self, name: str, value: float, now: float) -> str:
        if self.previous is None or self.previous[1].get(name) is None or now <= self.previous[0]:
            return "total"
        return f"total, +{(value - self.previous[1][name]) / (now - self.previous[0]):.3g}/s"


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def render(snapshot: Snapshot, show_parameters: bool = False, history: StatsHistory | None = None,
           now: float = 0.0) -> str:
    """The snapshot as text: a header line, the counters (unit, what each is), the faces (and the
    parameters when asked). ``history`` (updated) adds rates and means across calls; ``now`` in s."""
    lines = [f"state {snapshot.state}  period {snapshot.period_ms} ms  awake {snapshot.awake_s} s"]
    stats = {name[len("Stats."):]: value for name, (value, _) in snapshot.parameters.items()
             if name.startswith("Stats.")}
    rows = (history or StatsHistory()).describe(stats, now)
    width = max((len(name) for name, _, _ in rows), default=0)
    value_width = max((len(value) for _, value, _ in rows), default=0)
    lines += ["counters:"] + [f"  {name.ljust(width)}  {value.rjust(value_width)}  {note}".rstrip()
                              for name, value, note in rows]
    lines.append(f"faces: {len(snapshot.faces)}")
    lines += [f"  {format_state(face)}" for face in snapshot.faces]
    if show_parameters:
        lines.append("parameters (* editable):")
        lines += [f"  {'*' if editable else ' '} {name} = {value}" for name, (value, editable)
                  in snapshot.parameters.items() if not name.startswith("Stats.")]
    return "\n".join(lines)


def parse_assignment(text: str) -> tuple[str, str]:
    """``KEY=VALUE`` -> (KEY, VALUE); argparse.ArgumentTypeError otherwise."""
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    return key.strip(), value.strip()


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--proxy", default="commonbehavior:tcp -h localhost -p 11006",
                        help="CommonBehavior proxy (Endpoints.CommonBehavior of etc/config)")
    parser.add_argument("--emotion-proxy", default="emotionrecognition:tcp -h localhost -p 10006",
                        help="EmotionRecognition proxy (Endpoints.EmotionRecognition of etc/config)")
    parser.add_argument("--set-period", type=int_range(1, 3_600_000), metavar="MS", help="set Period.Compute first")
    parser.add_argument("--set", type=parse_assignment, action="append", default=[], metavar="KEY=VALUE",
                        help="set an editable parameter first (repeatable)")
    parser.add_argument("--once", action="store_true", help="print one snapshot and exit")
    parser.add_argument("--interval", type=float_range(0.0, low_open=True), default=1.0, help="seconds between snapshots (default 1)")
    parser.add_argument("--parameters", action="store_true", help="also list every parameter")


def run(args: argparse.Namespace) -> int:
    stop = stop_event_on_signals()
    communicator = make_communicator()
    try:
        client = ComponentClient(communicator, args.proxy, args.emotion_proxy)
        try:
            if args.set_period is not None:
                client.set_period(args.set_period)
            if args.set:
                client.set_parameters(dict(args.set))
        except (ValueError, Ice.Exception) as exc:
            raise OSError(f"refused: {exc if isinstance(exc, ValueError) else type(exc).__name__}") from None
        history, in_place = StatsHistory(), sys.stdout.isatty() and not args.once
        while True:
            try:
                text = render(client.snapshot(), args.parameters, history, time.monotonic())
                print(CLEAR + text if in_place else text, flush=True)
            except Ice.Exception as exc:
                if args.once:
                    raise OSError(f"cannot reach the component at {args.proxy}: {type(exc).__name__}") from None
                print(f"monitor: cannot reach the component at {args.proxy}: {type(exc).__name__}", flush=True)
            if args.once or stop.wait(args.interval):
                return 0
            if not in_place:
                print(flush=True)
    finally:
        communicator.destroy()
