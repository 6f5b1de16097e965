"""GenericWorker of emotionrecognition (robocompdsl's shape, headless): the proxies of emotionrecognition.cdsl
as ``self.<iface>_proxy``. The compute loop and CommonBehavior come from ``emotion.middleware.worker``;
behaviour is in src/specificworker.py."""

from typing import Any

from emotion.middleware.worker import ComponentWorker


class GenericWorker(ComponentWorker):
    def __init__(self, mprx: dict[str, Any], params, config_path=None) -> None:
        super().__init__(params, config_path)
        self.camerargbdsimple_proxy = mprx["CameraRGBDSimpleProxy"]
        self.camerasimple_proxy = mprx["CameraSimpleProxy"]
        self.emotionrecognitionpub_proxy = mprx["EmotionRecognitionPub"]
