# rcmonitor code file of emotionrecognition (etc/emotionrecognition.rcm names it).
#
# RoboComp's rcmonitor reads the .rcm, loads the slice it names (CommonBehavior.ice), exec()s this file
# and builds C(endpoint, modules); every period it calls job() and draws what job() returns. C is a plain
# class (no Qt), so rcmonitor plots its answer: ['signal', [faces in the latest frames, scale]]. job() also
# prints one line whenever the component's figures change: state, period, frames, faces, publish rate.
#
#   rcmonitor etc/emotionrecognition.rcm [-h HOST] [-p PORT]     (ROBOCOMP must hold interfaces/CommonBehavior.ice)

import sys

import Ice

FIGURES = ("frames_received", "frames_processed", "frames_invalid", "faces", "publish_hz", "latency_ms")
SCALE = 20.0


class C():
    def __init__(self, endpoint, modules):
        self.ic = Ice.initialize(sys.argv)
        self.mods = modules
        self.prx = self.ic.stringToProxy(endpoint)
        self.proxy = self.mods['RoboCompCommonBehavior'].CommonBehaviorPrx.checkedCast(self.prx)
        self.last = None

    def summary(self):
        """One line: state, period and the Stats.* figures of FIGURES; and the face count."""
        state = self.proxy.getState()
        parameters = self.proxy.getParameterList()
        stats = {name: parameters['Stats.' + name].value for name in FIGURES if 'Stats.' + name in parameters}
        running = state == self.mods['RoboCompCommonBehavior'].State.Running
        line = 'emotionrecognition: %s, period %d ms, %s' % (
            'Running' if running else 'Starting', self.proxy.getPeriod(),
            ', '.join('%s %s' % (name, value) for name, value in stats.items()))
        return line, float(stats.get('faces', 0))

    def job(self):
        line, faces = self.summary()
        if line != self.last:
            print(line)
            self.last = line
        return ['signal', [faces, SCALE]]
