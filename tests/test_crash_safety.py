"""Crash safety: a kill while a file is written leaves the old file or none (emotion.atomic), an unreadable
synthetic cache is rebuilt with one line, and a kill between last_state.pt and last.pt still resumes."""

import dataclasses
import json
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from emotion.datasets.windows import WindowSet
from emotion.paths import REPO_ROOT, shared_dir
from emotion.training.config import load_config
from emotion.training.data import load_source, synth_cache_path
from emotion.training.loop import train

needs_sfm = pytest.mark.skipif(not (shared_dir() / "data" / "sfm").is_dir(), reason="Surrey Face Model absent")
SMOKE = REPO_ROOT / "configs" / "train_smoke.toml"

WRITER = """
import sys, numpy as np
from emotion.datasets.windows import WindowSet
rng = np.random.default_rng(0)
n = 6000
ws = WindowSet(rng.normal(size=(n, 45, 68, 2)).astype(np.float32), np.zeros(n, np.int64), np.array(["g"] * n))
print("writing", flush=True)
ws.save(sys.argv[1])
"""


def test_write_atomic_leaves_the_old_file_when_the_writer_fails(tmp_path):
    from emotion.atomic import write_atomic
    path = tmp_path / "out.txt"
    path.write_text("old")
    with pytest.raises(RuntimeError):
        with write_atomic(path) as tmp:
            tmp.write_text("half")
            raise RuntimeError("killed")
    assert path.read_text() == "old" and sorted(p.name for p in tmp_path.iterdir()) == ["out.txt"]


def test_a_kill_while_a_window_set_is_written_leaves_no_partial_file(tmp_path):
    """SIGKILL in the middle of WindowSet.save: the target is absent, never a truncated .npz."""
    target = tmp_path / "cache.npz"
    process = subprocess.Popen([sys.executable, "-c", WRITER, str(target)], stdout=subprocess.PIPE, text=True)
    assert process.stdout.readline().strip() == "writing"
    deadline = time.monotonic() + 60
    while not list(tmp_path.glob(".cache.tmp*")) and time.monotonic() < deadline:
        time.sleep(0.005)
    time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL
    assert not target.exists(), "a kill left a partial window file under the real name"


@needs_sfm
@pytest.mark.parametrize("damage", ["empty", "truncated", "garbage"])
def test_an_unreadable_synth_cache_is_rebuilt_with_one_line(tmp_path, capfd, damage):
    cfg = load_config(SMOKE)
    src = cfg.sources[0]
    good = load_source(src, cfg.window, tmp_path / "fresh", progress=False)
    path = synth_cache_path(src, cfg.window, tmp_path / "cache")
    path.parent.mkdir(parents=True)
    whole = synth_cache_path(src, cfg.window, tmp_path / "fresh").read_bytes()
    path.write_bytes({"empty": b"", "truncated": whole[: len(whole) // 2], "garbage": b"PK\x03\x04junk" * 50}[damage])
    capfd.readouterr()
    again = load_source(src, cfg.window, tmp_path / "cache", progress=False)
    err = [line for line in capfd.readouterr().err.splitlines() if line.strip()]
    assert len(err) == 1 and err[0].startswith("synthetic cache: ") and "generating it again" in err[0], err
    np.testing.assert_array_equal(again.landmarks, good.landmarks)
    WindowSet.load(path)                                       # the rebuilt cache reads back


@needs_sfm
def test_a_kill_between_last_state_and_last_checkpoint_still_resumes(tmp_path):
    """last_state.pt written for epoch 3, last.pt still epoch 2 (a kill between the two writes): the run
    resumes from epoch 2 and ends as an uninterrupted run does."""
    cfg = dataclasses.replace(load_config(SMOKE), cache_dir=tmp_path / "cache")
    cfg = dataclasses.replace(cfg, optim=dataclasses.replace(cfg.optim, epochs=4, patience=10))
    straight = train(cfg, tmp_path / "straight", progress=False, log=lambda msg: None)
    run = tmp_path / "killed"

    def stop_after(epoch: int):
        def log(msg: str) -> None:
            if msg.startswith(f"epoch {epoch}:"):
                raise KeyboardInterrupt
        return log

    with pytest.raises(KeyboardInterrupt):
        train(cfg, run, progress=False, log=stop_after(2))
    shutil.copy(run / "last.pt", tmp_path / "last_epoch2.pt")
    with pytest.raises(KeyboardInterrupt):
        train(cfg, run, resume=True, progress=False, log=stop_after(3))
    shutil.copy(tmp_path / "last_epoch2.pt", run / "last.pt")  # as if killed before last.pt of epoch 3
    resumed = []
    train(cfg, run, resume=True, progress=False, log=resumed.append)
    assert any("resumed from" in line and "after epoch 2" in line for line in resumed), resumed
    history = json.loads((run / "metrics.json").read_text())["history"]
    assert [h["epoch"] for h in history] == [1, 2, 3, 4]
    for got, want in zip(history, straight["history"]):
        assert got["train_loss"] == pytest.approx(want["train_loss"], rel=1e-5)
