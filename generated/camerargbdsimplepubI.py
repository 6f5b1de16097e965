"""CameraRGBDSimplePub subscriber servant: forwards to ``worker.CameraRGBDSimplePub_pushRGBD``."""

from emotion.middleware.slices import load_interfaces

RoboCompCameraRGBDSimplePub = load_interfaces().RoboCompCameraRGBDSimplePub


class CameraRGBDSimplePubI(RoboCompCameraRGBDSimplePub.CameraRGBDSimplePub):
    def __init__(self, worker) -> None:
        self.worker = worker

    def pushRGBD(self, im, dep, current=None):
        return self.worker.CameraRGBDSimplePub_pushRGBD(im, dep)
