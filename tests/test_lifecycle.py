"""No orphans, no litter: a tool that starts children ends them on SIGINT/SIGTERM/SIGHUP and on its own
death (SIGKILL), and its temporary files go. Real processes: `demo` with icebox, the component and a
camera; `rcnode`; ManagedProcess under a parent that is SIGKILLed."""

import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from emotion.middleware.processes import ManagedProcess, remove_stale, wait_until
from emotion.paths import SAMPLE_CLIP
from emotion.tools.demo import TEMP_PREFIX

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")


def proc_stat(pid: int) -> tuple[str, int, int] | None:
    """(state, ppid, pgid) of a live process, None when gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    fields = text[text.rindex(")") + 2:].split()
    return fields[0], int(fields[1]), int(fields[2])


def all_pids() -> list[int]:
    return [int(name) for name in os.listdir("/proc") if name.isdigit()]


def children_of(pid: int) -> list[int]:
    return [p for p in all_pids() if (s := proc_stat(p)) and s[1] == pid]


def survivors(pids: set[int], pgids: set[int]) -> list[int]:
    """Processes among ``pids`` or in process groups ``pgids`` that are still alive (zombies are dead)."""
    out = []
    for p in all_pids():
        s = proc_stat(p)
        if s and s[0] != "Z" and (p in pids or s[2] in pgids):
            out.append(p)
    return out


def start_demo(tmp_path: Path, weights: Path) -> subprocess.Popen:
    """A looping demo in its own session (a signal to it reaches nothing else), its three children up."""
    demo = subprocess.Popen([sys.executable, "-m", "emotion", "demo", "--clip", str(SAMPLE_CLIP),
                             "--weights", str(weights), "--out", str(tmp_path / "demo.mp4")],
                            stdout=(tmp_path / "demo.log").open("w"), stderr=subprocess.STDOUT,
                            start_new_session=True, cwd=tmp_path)
    if not wait_until(lambda: len(children_of(demo.pid)) >= 3, 120.0, interval_s=0.2):
        demo.kill()
        pytest.fail(f"demo did not start its three children: {children_of(demo.pid)}")
    return demo


def temp_dirs_of(pid: int) -> list[str]:
    return [n for n in os.listdir(tempfile.gettempdir()) if n.startswith(f"{TEMP_PREFIX}{pid}-")]


@pytest.mark.parametrize("signum", [signal.SIGKILL, signal.SIGHUP, signal.SIGTERM])
def test_demo_killed_or_hung_up_leaves_no_child(tmp_path, random_weights, signum):
    demo = start_demo(tmp_path, random_weights)
    children = set(children_of(demo.pid))
    pgids = {s[2] for p in children if (s := proc_stat(p))}
    assert len(children) >= 3 and demo.pid not in pgids  # icebox, component, camera, each in its own group
    assert temp_dirs_of(demo.pid)
    demo.send_signal(signum)
    status = demo.wait(30)
    assert wait_until(lambda: not survivors(children, pgids), 10.0), \
        f"after {signal.Signals(signum).name}: {survivors(children, pgids)} still alive"
    if signum == signal.SIGKILL:
        assert status == -signal.SIGKILL
        left = temp_dirs_of(demo.pid)
        assert left, "a SIGKILLed demo cannot remove its folder itself"
        removed = remove_stale(TEMP_PREFIX)  # what the next demo does first
        assert all(any(r.endswith(name) for r in removed) for name in left)
    else:
        assert status == 0, (tmp_path / "demo.log").read_text()
    assert not temp_dirs_of(demo.pid)


def test_rcnode_tool_on_sighup_stops_icebox_and_removes_its_log():
    from emotion.middleware.processes import free_ports

    port, publish = free_ports(2)
    tool = subprocess.Popen([sys.executable, "-m", "emotion", "rcnode", "--host", "127.0.0.1", "--port", str(port),
                             "--publish-port", str(publish)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, start_new_session=True)
    line = tool.stdout.readline()
    assert "IceStorm listening" in line, line
    log = line.split("icebox log ")[1].split(";")[0]
    assert Path(log).is_file()
    icebox = set(children_of(tool.pid))
    assert icebox
    tool.send_signal(signal.SIGHUP)
    assert tool.wait(15) == 0
    assert wait_until(lambda: not survivors(icebox, icebox), 5.0)
    assert not Path(log).exists()


def test_child_of_a_sigkilled_parent_is_killed_by_the_kernel(tmp_path):
    """ManagedProcess's parent-death signal, with a parent that cannot clean up (SIGKILL)."""
    script = ("import sys, time\n"
              "from emotion.middleware.processes import ManagedProcess\n"
              "child = ManagedProcess(['sleep', '300'], name='sleeper').start()\n"
              "print(child.pid, flush=True)\n"
              "time.sleep(300)\n")
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    child = int(parent.stdout.readline())
    assert proc_stat(child) is not None
    parent.kill()
    parent.wait()
    assert wait_until(lambda: not survivors({child}, set()), 5.0), "the child outlived its SIGKILLed parent"
    leftovers = [n for n in os.listdir(tempfile.gettempdir()) if n.startswith(f"sleeper-{parent.pid}-")]
    assert leftovers  # its log: removed by the next ManagedProcess of that name
    ManagedProcess(["true"], name="sleeper").start().stop()
    assert not [n for n in os.listdir(tempfile.gettempdir()) if n.startswith(f"sleeper-{parent.pid}-")]


def test_stopped_process_removes_its_own_log_but_keeps_its_output():
    process = ManagedProcess([sys.executable, "-c", "print('hello')"], name="hello").start()
    process.wait(10)
    log = process.log_path
    assert log.is_file()
    process.stop()
    assert not log.exists() and "hello" in process.output()
    process.start().wait(10)  # restartable: earlier output kept, new output appended
    process.stop()
    assert process.output().count("hello") == 2 and not log.exists()
