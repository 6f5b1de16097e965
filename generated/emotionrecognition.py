#!/usr/bin/env python3
"""emotionrecognition: the RoboComp component that publishes the emotion states of the faces its cameras see.

Usage: ``emotionrecognition.py [CONFIG] [--startup-check]``.

``--startup-check`` goes through the whole start (config, proxies, weights, predictor, ports) without
contacting rcnode or serving, then exits: 0 when the component would start.

CONFIG defaults to etc/config (relative to the current directory, else to the component root). Imports
come from paths derived from this file, never from the current directory. Stops cleanly on SIGINT,
SIGTERM and CommonBehavior.killYourSelf.

Start-up faults end the process with one error line on stderr (``EMOTION_DEBUG=1`` adds the traceback):
- a malformed config (bad value, missing required key): exit status 2; an unknown key is only a warning;
- missing or corrupt weights (``Model.Weights``), a missing dlib predictor, a bad proxy or endpoint, an
  unknown host, a port in use: exit status 1.
"""

import argparse
import signal
import sys
from pathlib import Path

COMPONENT_ROOT = Path(__file__).resolve().parents[1]
for _path in (COMPONENT_ROOT / "generated", COMPONENT_ROOT / "src"):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

import interfaces  # noqa: E402
from emotion.middleware.componentconfig import load_component_config  # noqa: E402
from emotion.middleware.config import ConfigError  # noqa: E402
from emotion.middleware.startup import STARTUP_FAULTS, StartupError, report_startup_error, startup_check  # noqa: E402
from specificworker import SpecificWorker  # noqa: E402

DEFAULT_CONFIG = Path("etc") / "config"
FAULTS = (StartupError, *STARTUP_FAULTS)


def resolve_config(path: Path) -> Path:
    """``path`` as given; the default also falls back to the component root's etc/config."""
    if path == DEFAULT_CONFIG and not path.exists():
        return COMPONENT_ROOT / DEFAULT_CONFIG
    return path


def build_component(config, params, config_path: Path) -> tuple[interfaces.InterfaceManager, SpecificWorker]:
    """Proxies, the worker (weights and predictor loaded) and its adapters (ports bound); nothing linked yet."""
    manager = interfaces.InterfaceManager(config, params)
    try:
        worker = SpecificWorker(manager.get_proxies_map(), params, config_path)
        manager.set_default_handler(worker)
    except BaseException:
        manager.destroy()
        raise
    return manager, worker


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="emotionrecognition", description=__doc__.splitlines()[0])
    parser.add_argument("configfile", nargs="?", type=Path, default=DEFAULT_CONFIG,
                        help="config file (default: etc/config here, else the component root's)")
    parser.add_argument("--startup-check", action="store_true",
                        help="check the config, load the weights, bind the ports, build every interface struct once, exit")
    args = parser.parse_args(argv)
    config_path = resolve_config(args.configfile)
    try:
        config, params = load_component_config(config_path, SpecificWorker.all_parameters())
    except ConfigError as exc:
        print(f"emotionrecognition: config error: {exc}", file=sys.stderr)
        return 2
    try:
        manager, worker = build_component(config, params, config_path)
    except FAULTS as exc:
        return report_startup_error(exc, "emotionrecognition")
    if args.startup_check:
        structs = startup_check()
        manager.destroy()
        print(f"startup check: {structs} structs built, weights {params['Model.Weights']} loaded, ports bound, "
              f"config {config_path} OK")
        return 0
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: worker.stop())
    print(f"emotionrecognition: serving emotionrecognition on {params['Endpoints.EmotionRecognition']!r}, "
          f"config {config_path}", flush=True)
    manager.start()
    worker.start()
    worker.wait_stopped()
    manager.destroy()
    print("emotionrecognition: stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
