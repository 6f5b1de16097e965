"""etc/emotionrecognition.rcm loaded the way RoboComp's rcmonitor loads it, without Qt, against a real
component: rcmonitor's own steps (robocomp/robocomp tools/rcmonitor/rcmonitor.py) re-enacted in a fresh
Python, so only the slice the .rcm names is loaded, as in rcmonitor."""

import json
import os
import subprocess
import sys

from emotion.paths import REPO_ROOT

RCM = REPO_ROOT / "etc" / "emotionrecognition.rcm"

# rcmonitor's steps, in its order: RCOMPMonitor.__init__ (parse the .rcm, pop the period, -h/-p override),
# OpenConnection.loadConfig (slice path under $ROBOCOMP, code path beside the .rcm, "Cannot open code
# file" exit), slotAccepted1 (endpoint string, slice options, SliceReader: Ice.loadSlice and the new
# modules), slotAccepted2 (importCode: exec into module 'modulillo'), doJob / mySlot (C(endpoint, modules),
# job() every period; a non-QWidget C's output goes to DrawData, which knows these kinds).
LOADER = r'''
import json, os, sys, types
import Ice
rcm, port = sys.argv[1], sys.argv[2]
ROBOCOMP = os.environ["ROBOCOMP"]
lines = [line.strip() for line in open(rcm).readlines() if len(line.strip()) > 0 and line.strip()[0] != "#"]
period = int(lines.pop(5))
lines[4] = port
slice_path = ROBOCOMP + "/" + lines[0]
code_path = os.path.dirname(rcm) + "/" + lines[5]
try:
    code = open(code_path, "r").read()
except OSError:
    print("Cannot open code file <" + code_path + ">")
    sys.exit(1)
endpoint = lines[1] + ": " + lines[3].split()[0] + " -p " + lines[4] + " -h " + lines[2] + " "
slice_opts = " -I" + os.path.dirname(slice_path) + "/  -I.  -I" + ROBOCOMP + "/interfaces  --all"
before = set(sys.modules)
Ice.loadSlice(slice_opts + " " + slice_path)
modules = {name: __import__(name) for name in set(sys.modules) - before}
module = types.ModuleType("modulillo")
exec(code, module.__dict__)
doer = module.C(endpoint, modules)
outputs = [doer.job() for _ in range(3)]
print(json.dumps({"period": period, "modules": sorted(modules), "outputs": outputs}))
'''


def run_loader(tmp_path, port: int) -> subprocess.CompletedProcess:
    script = tmp_path / "rcmonitor_loader.py"
    script.write_text(LOADER)
    env = {**os.environ, "ROBOCOMP": str(REPO_ROOT)}
    return subprocess.run([sys.executable, str(script), str(RCM), str(port)], capture_output=True, text=True,
                          timeout=60, env=env, cwd=tmp_path)


def test_rcmonitor_loads_the_code_file_and_plots_the_component(tmp_path, component):
    result = run_loader(tmp_path, component.ports.commonbehavior)
    assert result.returncode == 0, result.stdout + result.stderr
    printed, answer = result.stdout.strip().splitlines()[:-1], json.loads(result.stdout.strip().splitlines()[-1])
    assert answer["period"] == 100 and "RoboCompCommonBehavior" in answer["modules"]
    assert all(kind == "signal" and len(data) == 2 and data[0] >= 0 for kind, data in answer["outputs"])
    assert len(printed) >= 1 and printed[0].startswith("emotionrecognition: Running, period 20 ms, frames_received")
    assert "publish_hz" in printed[0]


def test_without_the_code_file_rcmonitor_exits_as_it_does(tmp_path, component):
    """The failure the issue reported: the loader itself says why (so the test above can fail)."""
    rcm = tmp_path / "other.rcm"
    rcm.write_text(RCM.read_text().replace("emotionrecognition_monitor.py", "missing.py"))
    script = tmp_path / "rcmonitor_loader.py"
    script.write_text(LOADER)
    result = subprocess.run([sys.executable, str(script), str(rcm), str(component.ports.commonbehavior)],
                            capture_output=True, text=True, timeout=60, env={**os.environ, "ROBOCOMP": str(REPO_ROOT)})
    assert result.returncode == 1 and "Cannot open code file" in result.stdout
