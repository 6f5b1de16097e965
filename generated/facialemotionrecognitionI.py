"""FacialEmotionRecognition servant (identity ``facialemotionrecognition``): forwards to
``worker.FacialEmotionRecognition_<method>``."""

from emotion.middleware.slices import load_interfaces

RoboCompFacialEmotionRecognition = load_interfaces().RoboCompFacialEmotionRecognition


class FacialEmotionRecognitionI(RoboCompFacialEmotionRecognition.FacialEmotionRecognition):
    def __init__(self, worker) -> None:
        self.worker = worker

    def getEmotionList(self, current=None):
        return self.worker.FacialEmotionRecognition_getEmotionList()
