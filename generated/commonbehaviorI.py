"""CommonBehavior servant (identity ``commonbehavior``): forwards to ``worker.CommonBehavior_<method>``."""

from emotion.middleware.slices import load_interfaces

RoboCompCommonBehavior = load_interfaces().RoboCompCommonBehavior


class CommonBehaviorI(RoboCompCommonBehavior.CommonBehavior):
    def __init__(self, worker) -> None:
        self.worker = worker

    def getPeriod(self, current=None):
        return self.worker.CommonBehavior_getPeriod()

    def setPeriod(self, period, current=None):
        return self.worker.CommonBehavior_setPeriod(period)

    def timeAwake(self, current=None):
        return self.worker.CommonBehavior_timeAwake()

    def killYourSelf(self, current=None):
        return self.worker.CommonBehavior_killYourSelf()

    def getParameterList(self, current=None):
        return self.worker.CommonBehavior_getParameterList()

    def setParameterList(self, l, current=None):
        return self.worker.CommonBehavior_setParameterList(l)

    def reloadConfig(self, current=None):
        return self.worker.CommonBehavior_reloadConfig()

    def getState(self, current=None):
        return self.worker.CommonBehavior_getState()
