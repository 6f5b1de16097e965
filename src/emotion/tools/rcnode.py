"""`python -m emotion rcnode`: IceStorm in icebox (RoboComp's rcnode) until Ctrl-C or SIGTERM."""

import argparse
import sys

from emotion.middleware.processes import stop_event_on_signals
from emotion.middleware.rcnode import DEFAULT_PORT, DEFAULT_PUBLISH_PORT, RCNODE_CONFIG, RcNode
from emotion.tools.preflight import int_range

DESCRIPTION = "run IceStorm in icebox (RoboComp's rcnode, etc/rcnode.conf) for local use and tests"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", type=int_range(1, 65535), default=DEFAULT_PORT, help="TopicManager port (default 9999)")
    parser.add_argument("--publish-port", type=int_range(1, 65535), default=DEFAULT_PUBLISH_PORT,
                        help="IceStorm publish port (default 9998)")
    parser.add_argument("--host", default="", help="interface to listen on (default: all, like rcnode)")
    parser.add_argument("--config", default=str(RCNODE_CONFIG), help="icebox config (default etc/rcnode.conf)")


def run(args: argparse.Namespace) -> int:
    stop = stop_event_on_signals()
    node = RcNode(args.port, args.publish_port, host=args.host or None, config=args.config)
    try:
        node.start()
    except RuntimeError as exc:
        raise OSError(str(exc)) from None
    print(f"rcnode: IceStorm listening; components use Proxies.TopicManager = \"{node.proxy}\" "
          f"(publish port {node.publish_port}); icebox log {node.process.log_path}; Ctrl-C stops", flush=True)
    try:
        while not stop.wait(0.5):
            if not node.process.running:
                print(f"emotion rcnode: error: icebox exited ({node.process.returncode}): "
                      f"{node.process.last_line() or 'no output'}", file=sys.stderr)
                return 1
    finally:
        node.stop()
    print("rcnode: stopped")
    return 0
