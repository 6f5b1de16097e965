"""The one slice loader: every Ice module of the project comes from ``interfaces/*.ice`` through here."""

import threading
from types import SimpleNamespace

import Ice

from emotion.paths import INTERFACES_DIR

SLICE_FILES: tuple[str, ...] = (
    "CommonBehavior.ice",
    "CameraRGBDSimple.ice",
    "CameraRGBDSimplePub.ice",
    "CameraSimple.ice",
    "EmotionRecognition.ice",
    "EmotionRecognitionPub.ice",
    "FacialEmotionRecognition.ice",
)
"""The .ice files the component and its tools load, in dependency order (each defines module RoboComp<stem>;
EmotionStates.ice is included by the emotion ones)."""

_lock = threading.Lock()
_loaded: SimpleNamespace | None = None


def load_interfaces() -> SimpleNamespace:
    """Load every slice once (thread-safe) and return the generated modules by name.

    Attributes: ``RoboCompCommonBehavior``, ``RoboCompCameraRGBDSimple``, ``RoboCompCameraRGBDSimplePub``,
    ``RoboCompCameraSimple``, ``RoboCompEmotionRecognition``, ``RoboCompEmotionRecognitionPub``,
    ``RoboCompFacialEmotionRecognition`` and ``IceStorm``. Paths come from
    ``emotion.paths.INTERFACES_DIR``, never from the current directory.
    """
    global _loaded
    with _lock:
        if _loaded is None:
            modules = {}
            for name in SLICE_FILES:
                path = INTERFACES_DIR / name
                if not path.is_file():
                    raise FileNotFoundError(f"slice file {path} is missing (interfaces/ of the repository)")
                Ice.loadSlice(f"-I{INTERFACES_DIR} -I{Ice.getSliceDir()} --all {path}")
                module_name = "RoboComp" + path.stem
                modules[module_name] = __import__(module_name)
            import IceStorm

            modules["IceStorm"] = IceStorm
            _loaded = SimpleNamespace(**modules)
        return _loaded
