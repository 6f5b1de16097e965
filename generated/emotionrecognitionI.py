"""EmotionRecognition servant (identity ``emotionrecognition``): forwards to ``worker.EmotionRecognition_<method>``."""

from emotion.middleware.slices import load_interfaces

RoboCompEmotionRecognition = load_interfaces().RoboCompEmotionRecognition


class EmotionRecognitionI(RoboCompEmotionRecognition.EmotionRecognition):
    def __init__(self, worker) -> None:
        self.worker = worker

    def getEmotionList(self, current=None):
        return self.worker.EmotionRecognition_getEmotionList()

    def getClassNames(self, current=None):
        return self.worker.EmotionRecognition_getClassNames()

    def getEmotionStates(self, current=None):
        return self.worker.EmotionRecognition_getEmotionStates()
