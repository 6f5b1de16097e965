"""The component's config: RoboComp's new format (emotion.middleware.config) checked against its keys.

The interface keys follow emotionrecognition.cdsl (what robocompdsl's generated code reads, with RoboComp's
ports as defaults); the workers add theirs (``ComponentWorker.PARAMETERS``, ``SpecificWorker.PARAMETERS``).
``Ice.*`` keys go to the communicator.
"""

import sys
from pathlib import Path
from typing import Callable, Iterable

from emotion.middleware.config import Config, ConfigError, load_config
from emotion.middleware.parameters import ParameterSet, ParameterSpec
from emotion.middleware.topics import DEFAULT_TOPIC_MANAGER

INTERFACE_PARAMETERS: tuple[ParameterSpec, ...] = (
    ParameterSpec("Proxies.CameraRGBDSimple", str, "camerargbdsimple:tcp -h localhost -p 10096",
                  doc="CameraRGBDSimple server polled in Camera.Mode = poll"),
    ParameterSpec("Proxies.CameraSimple", str, "camerasimple:tcp -h localhost -p 10005",
                  doc="CameraSimple server polled in Camera.Mode = poll-simple (emotionrecognition2's default)"),
    ParameterSpec("Proxies.TopicManager", str, DEFAULT_TOPIC_MANAGER,
                  doc="rcnode (IceStorm TopicManager)"),
    ParameterSpec("Endpoints.Host", str, "localhost",
                  doc="address every Endpoints.* without its own -h binds to: the robot network's address of "
                      "this machine; \"\" binds every interface (RoboComp's habit; no authentication!)"),
    ParameterSpec("Endpoints.EmotionRecognition", str, "tcp -p 10006", doc="EmotionRecognition adapter"),
    ParameterSpec("Endpoints.FacialEmotionRecognition", str, "",
                  doc="FacialEmotionRecognition adapter; empty: on the EmotionRecognition adapter"),
    ParameterSpec("Endpoints.CommonBehavior", str, "tcp -p 11006",
                  doc="CommonBehavior adapter; empty: on the EmotionRecognition adapter"),
    ParameterSpec("Endpoints.CameraRGBDSimplePubTopic", str, "tcp -p 10097", doc="adapter IceStorm pushes to"),
    ParameterSpec("Endpoints.CameraRGBDSimplePubPrefix", str, "", doc="camera topic prefix"),
    ParameterSpec("Endpoints.EmotionRecognitionPubPrefix", str, "", doc="published topic prefix"),
    ParameterSpec("TopicLink.IntervalS", float, 1.0, minimum=0.05, maximum=60.0,
                  doc="seconds between rcnode link checks"),
)
REQUIRED_KEYS: tuple[str, ...] = ("Proxies.TopicManager", "Endpoints.EmotionRecognition")
PASS_THROUGH_PREFIXES: tuple[str, ...] = ("Ice.",)


def load_component_config(path: Path | str, specs: Iterable[ParameterSpec],
                          warn: Callable[[str], None] = lambda line: print(line, file=sys.stderr)
                          ) -> tuple[Config, ParameterSet]:
    """Parse ``path`` and check it against ``specs``; ConfigError (one line) for any problem.

    Unknown keys (not declared, not ``Ice.*``) get one warning line each.
    """
    config = load_config(path)
    for key in REQUIRED_KEYS:
        if key not in config:
            raise ConfigError(config.path, None, key, "missing (required)")
    params = ParameterSet(specs)
    params.load(config)
    for key in config.values:
        if key not in params.specs and not key.startswith(PASS_THROUGH_PREFIXES):
            warn(f"warning: {config.path}:{config.line(key)}: unknown key {key!r} ignored")
    return config, params
