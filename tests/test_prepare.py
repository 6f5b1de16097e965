"""Frame reading, cached parallel landmark extraction and `python -m emotion prepare`."""

import os
from types import SimpleNamespace

import cv2
import numpy as np
import pytest

from emotion import cli
from emotion.classes import class_index
from emotion.datasets import extraction
from emotion.datasets.extraction import LandmarkExtractor, VideoJob, cache_key
from emotion.datasets.video import iter_frames, source_fps
from emotion.datasets.windows import WindowSet
from emotion.paths import shared_media


def write_frames(folder, values, size=16):
    folder.mkdir(parents=True, exist_ok=True)
    for i, v in enumerate(values):
        cv2.imwrite(str(folder / f"frame_{i}.png"), np.full((size, size, 3), v, np.uint8))
    return folder


class FakeTracker:
    """Reads the frame's grey level v: a persistent face on the right (landmarks v) and, while v < 30, a
    second face on the left (landmarks v + 1)."""

    calls = 0

    def reset(self):
        pass

    def update(self, frame, timestamp_ms):
        FakeTracker.calls += 1
        v = float(frame[0, 0, 0])
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
    extractor = LandmarkExtractor(tmp_path / "cache", workers=1, tracker_factory=FakeTracker)
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
    key = cache_key(folder)
    cv2.imwrite(str(folder / "frame_6.png"), np.zeros((16, 16, 3), np.uint8))
    assert cache_key(folder) != key                                                 # a changed source is redone


def test_parallel_extraction_matches_serial_and_jobs_label_frames(tmp_path):
    folders = [write_frames(tmp_path / f"c{k}", [k, 10 + k, 40 + k]) for k in range(3)]
    serial = LandmarkExtractor(tmp_path / "a", workers=1, tracker_factory=FakeTracker).extract(folders)
    parallel = LandmarkExtractor(tmp_path / "b", workers=2, tracker_factory=FakeTracker).extract(folders)
    for folder in map(str, folders):
        assert np.array_equal(serial[folder].tracks, parallel[folder].tracks, equal_nan=True)
    job = VideoJob(folders[0], "g", ((1, 2, 3), (2, None, 0)))
    assert job.frame_labels(4).tolist() == [-1, 3, 0, 0]


def test_prepare_cli_reports_missing_arguments(capsys):
    assert cli.main(["prepare", "--format", "manifest", "--out", "x.npz"]) == 2
    assert "needs --manifest" in capsys.readouterr().err


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
            "--cache", str(tmp_path / "cache"), "--window", "8", "--stride", "4", "--workers", "2"]
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
