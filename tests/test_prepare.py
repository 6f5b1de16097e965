"""Frame reading, cached parallel landmark extraction and `python -m emotion prepare`."""

import os
import subprocess
import sys
from types import SimpleNamespace

import cv2
import numpy as np
import pytest

from emotion import cli
from emotion.classes import class_index
from emotion.datasets import extraction
from emotion.datasets.extraction import LandmarkExtractor, VideoJob, cache_key, tracker_digest
from emotion.datasets.video import iter_frames, source_fps
from emotion.datasets.windows import WindowSet
from emotion.paths import shared_media
from emotion.perception.tracking import TrackerConfig


def write_frames(folder, values, size=16):
    folder.mkdir(parents=True, exist_ok=True)
    for i, v in enumerate(values):
        cv2.imwrite(str(folder / f"frame_{i}.png"), np.full((size, size, 3), v, np.uint8))
    return folder


class FakeTracker:
    """Reads the frame's grey level v: a persistent face on the right (landmarks v) and, while v < 30, a
    second face on the left (landmarks v + 1); a frame of grey level 255 is unreadable (ValueError)."""

    calls = 0

    def __init__(self, config: TrackerConfig):
        self.config = config

    def reset(self):
        pass

    def update(self, frame, timestamp_ms):
        FakeTracker.calls += 1
        v = float(frame[0, 0, 0])
        if v == 255:
            raise ValueError("an unreadable frame")
        faces = [SimpleNamespace(track_id=7, box=(300, 0, 20, 20), landmarks=np.full((68, 2), v))]
        if v < 30:
            faces.append(SimpleNamespace(track_id=9, box=(0, 0, 10, 10), landmarks=np.full((68, 2), v + 1)))
        return faces


def test_iter_frames_folder_image_and_video(tmp_path):
    folder = write_frames(tmp_path / "f", [i * 10 for i in range(12)])
    got = [(i, t, int(f[0, 0, 0])) for i, t, f in iter_frames(folder, fps=10, start=1, end=11)]
    assert [g[0] for g in got] == list(range(1, 11)) and got[-1] == (10, 1.0, 100)   # frame_10 after frame_9
    assert [(i, t) for i, t, _ in iter_frames(folder / "frame_3.png")] == [(0, 0.0)]
    clip = tmp_path / "c.avi"
    writer = cv2.VideoWriter(str(clip), cv2.VideoWriter_fourcc(*"MJPG"), 25.0, (16, 16))
    for v in range(0, 250, 50):
        writer.write(np.full((16, 16, 3), v, np.uint8))
    writer.release()
    assert source_fps(clip) == 25.0 and source_fps(folder) == 30.0
    frames = list(iter_frames(clip, start=2))
    assert [(i, t) for i, t, _ in frames] == [(2, 0.08), (3, 0.12), (4, 0.16)]
    assert abs(int(frames[0][2][0, 0, 0]) - 100) < 8
    with pytest.raises(FileNotFoundError):
        list(iter_frames(tmp_path / "none.mp4"))
    with pytest.raises(ValueError, match="bad frame range"):
        list(iter_frames(folder, start=5, end=2))


def test_extraction_ranks_tracks_caches_and_resumes(tmp_path):
    folder = write_frames(tmp_path / "clip", [0, 10, 20, 30, 40, 50])
    extractor = LandmarkExtractor(tmp_path / "cache", TrackerConfig(), workers=1, tracker_factory=FakeTracker)
    FakeTracker.calls = 0
    video = extractor.extract([folder])[str(folder)]
    assert FakeTracker.calls == 6 and extractor.extracted == [str(folder)]
    assert video.tracks.shape == (2, 6, 68, 2)
    assert video.track("main")[:, 0, 0].tolist() == [0, 10, 20, 30, 40, 50]
    left = video.track("left")[:, 0, 0]
    assert left[:3].tolist() == [1, 11, 21] and np.isnan(left[3:]).all()
    assert np.array_equal(video.track("right"), video.track("main"), equal_nan=True)
    assert [p.suffix for p in (tmp_path / "cache").iterdir()] == [".npz"]          # no partial file left
    again = extractor.extract([folder])[str(folder)]
    assert FakeTracker.calls == 6 and extractor.extracted == []                     # served from the cache
    assert np.array_equal(again.tracks, video.tracks, equal_nan=True)
    key = cache_key(folder, TrackerConfig())
    cv2.imwrite(str(folder / "frame_6.png"), np.zeros((16, 16, 3), np.uint8))
    assert cache_key(folder, TrackerConfig()) != key                                # a changed source is redone


def test_landmarks_tracked_with_other_settings_are_not_reused(tmp_path):
    folder = write_frames(tmp_path / "clip", [0, 10, 20])
    deployed, other = TrackerConfig(), TrackerConfig(detect_every=7)
    assert cache_key(folder, TrackerConfig()) == cache_key(folder, deployed)          # equal settings, one key
    assert cache_key(folder, other) != cache_key(folder, deployed)
    FakeTracker.calls = 0
    for config, calls in ((deployed, 3), (other, 6), (deployed, 6), (other, 6)):
        extractor = LandmarkExtractor(tmp_path / "cache", config, workers=1, tracker_factory=FakeTracker)
        extractor.extract([folder])
        assert FakeTracker.calls == calls, config                                   # only new settings re-track
    assert len(list((tmp_path / "cache").iterdir())) == 2


def test_the_tracker_digest_is_the_same_in_another_process():
    code = ("from emotion.perception.tracking import TrackerConfig; from emotion.datasets.extraction import "
            "tracker_digest; print(tracker_digest(TrackerConfig(fine_every=2)))")
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert other == tracker_digest(TrackerConfig(fine_every=2)) != tracker_digest(TrackerConfig())


def test_the_live_search_budget_does_not_make_caches_stale():
    live = TrackerConfig(search_share=0.5, max_search_stretch=1)
    assert tracker_digest(live) == tracker_digest(TrackerConfig()) != tracker_digest(TrackerConfig(detect_every=3))


def test_failed_sources_are_kept_not_printed(tmp_path, capfd):
    good, bad = write_frames(tmp_path / "good", [0, 10]), write_frames(tmp_path / "bad", [0, 255])
    extractor = LandmarkExtractor(tmp_path / "cache", TrackerConfig(), workers=1, tracker_factory=FakeTracker)
    found = extractor.extract([good, bad])
    assert list(found) == [str(good)]
    assert extractor.failures == {str(bad): "ValueError: an unreadable frame"}
    assert "bad" not in capfd.readouterr().err                                      # the caller reports it


def test_parallel_extraction_matches_serial_and_jobs_label_frames(tmp_path):
    folders = [write_frames(tmp_path / f"c{k}", [k, 10 + k, 40 + k]) for k in range(3)]
    serial = LandmarkExtractor(tmp_path / "a", TrackerConfig(), workers=1, tracker_factory=FakeTracker).extract(folders)
    parallel = LandmarkExtractor(tmp_path / "b", TrackerConfig(), workers=2,
                                 tracker_factory=FakeTracker).extract(folders)
    for folder in map(str, folders):
        assert np.array_equal(serial[folder].tracks, parallel[folder].tracks, equal_nan=True)
    job = VideoJob(folders[0], "g", ((1, 2, 3), (2, None, 0)))
    assert job.frame_labels(4).tolist() == [-1, 3, 0, 0]


def test_prepare_cli_reports_missing_arguments(capsys):
    assert cli.main(["prepare", "--format", "manifest", "--out", "x.npz"]) == 2
    assert "needs --manifest" in capsys.readouterr().err


def test_prepare_reports_each_skipped_video(tmp_path, capsys):
    (tmp_path / "broken.mp4").write_bytes(b"not a video")
    (tmp_path / "m.csv").write_text("path,label\nbroken.mp4,Happy\n")
    args = ["prepare", "--format", "manifest", "--manifest", str(tmp_path / "m.csv"), "--out", str(tmp_path / "w.npz"),
            "--cache", str(tmp_path / "cache"), "--workers", "1"]
    assert cli.main(args) == 1
    err = [line for line in capsys.readouterr().err.splitlines() if "prepare:" in line]     # not tqdm's
    broken = tmp_path / "broken.mp4"
    assert len(err) == 2 and err[0] == f"prepare: skipped {broken}: ValueError: cannot open video {broken}"
    assert err[1].startswith("emotion prepare: error: no windows came out") and not (tmp_path / "w.npz").exists()


@pytest.mark.slow
def test_prepare_manifest_on_a_real_clip_uses_the_cache_the_second_time(tmp_path, monkeypatch):
    source = shared_media("single_face.mp4")
    if not source.is_file():
        pytest.skip(f"shared media absent ({source}); set EMOTION_SHARED")
    clip = tmp_path / "frames"
    clip.mkdir()
    for index, _, frame in iter_frames(source, end=24):
        cv2.imwrite(str(clip / f"{index:03d}.jpg"), frame)
    (tmp_path / "m.csv").write_text("path,label,start,end,group\nframes,Neutral,0,12,p1\nframes,Happy,12,,p1\n"
                                    f"{source},Sad,,,p2\n")
    args = ["prepare", "--format", "manifest", "--manifest", str(tmp_path / "m.csv"), "--out", str(tmp_path / "w.npz"),
            "--cache", str(tmp_path / "cache"), "--window", "8", "--stride", "4", "--jobs", "2"]
    assert cli.main(args) == 0
    first = WindowSet.load(tmp_path / "w.npz")
    p1 = first.groups == "p1"
    # window ends step back from the last frame by 4: p1 7, 11 (Neutral) | 15, 19, 23 (Happy); p2 7, 11, ..., 71
    assert first.labels[p1].tolist() == [class_index("Neutral")] * 2 + [class_index("Happy")] * 3
    assert (first.labels[~p1] == class_index("Sad")).all() and (~p1).sum() == 17
    assert np.isfinite(first.landmarks).all() and first.landmarks.shape[1:] == (8, 68, 2)
    eyes = first.landmarks[:, :, 36:48].astype(float)
    assert ((eyes[..., 0] > 100) & (eyes[..., 0] < 540) & (eyes[..., 1] > 20) & (eyes[..., 1] < 340)).all()
    stamps = {p.name: p.stat().st_mtime_ns for p in (tmp_path / "cache").iterdir()}
    assert len(stamps) == 2
    monkeypatch.setattr(extraction, "_extract_to_cache", lambda job: pytest.fail(f"re-extracted {job[0]}"))
    os.remove(tmp_path / "w.npz")
    assert cli.main(args) == 0
    assert {p.name: p.stat().st_mtime_ns for p in (tmp_path / "cache").iterdir()} == stamps
    second = WindowSet.load(tmp_path / "w.npz")
    assert np.array_equal(second.landmarks, first.landmarks) and np.array_equal(second.labels, first.labels)
