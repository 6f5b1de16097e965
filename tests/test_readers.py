"""Window cutting and the real-dataset readers, each on a small fixture written in its documented format."""

import cv2
import numpy as np
import pytest

from emotion.classes import class_index
from emotion.datasets.affwild2 import affwild2_jobs, read_affwild2, read_expr_annotation
from emotion.datasets.ckplus import read_ckplus, read_emotion_code
from emotion.datasets.cutting import cut_windows, interpolate_gaps
from emotion.datasets.extraction import VideoLandmarks
from emotion.datasets.manifest import manifest_jobs, read_manifest
from emotion.datasets.ravdess import RavdessName, read_landmark_csv, read_ravdess

HAPPY, SAD, NEUTRAL, ANGER, SURPRISE = (class_index(n) for n in ("Happy", "Sad", "Neutral", "Anger", "Surprise"))
HEADER = "Neutral,Anger,Disgust,Fear,Happiness,Sadness,Surprise,Other"


def ramp(frames: int, offset: float = 0.0) -> np.ndarray:
    """A face-shaped array whose every value encodes its frame: frame f holds f + offset. Shape: (F, 68, 2)."""
    return np.broadcast_to((np.arange(frames, dtype=np.float32) + offset)[:, None, None], (frames, 68, 2)).copy()


class FakeExtractor:
    """Stands in for LandmarkExtractor: returns prepared VideoLandmarks by source path."""

    def __init__(self, videos: dict[str, VideoLandmarks]):
        self.videos, self.failures, self.asked = videos, {}, []

    def extract(self, sources):
        self.asked += [str(s) for s in sources]
        return {str(s): self.videos[str(s)] for s in sources}


def video(tracks: list[np.ndarray], centres: list[float], source: str = "v") -> VideoLandmarks:
    return VideoLandmarks(np.stack(tracks).astype(np.float32), np.asarray(centres, float), 30.0, source)


# --- cutting ---------------------------------------------------------------------------------------------

def test_cut_labels_by_last_frame_and_steps_back_from_the_end():
    labels = np.array([NEUTRAL] * 6 + [HAPPY] * 6)
    windows, out, ends = cut_windows(ramp(12), labels, window=4, stride=3)
    assert ends.tolist() == [5, 8, 11]
    assert out.tolist() == [NEUTRAL, HAPPY, HAPPY]
    assert windows.shape == (3, 4, 68, 2)
    assert windows[:, :, 0, 0].tolist() == [[2, 3, 4, 5], [5, 6, 7, 8], [8, 9, 10, 11]]


def test_cut_single_class_unlabelled_and_missing_frames():
    labels = np.array([NEUTRAL] * 6 + [HAPPY] * 6)
    _, out, ends = cut_windows(ramp(12), labels, window=4, stride=1, single_class=True)
    assert ends.tolist() == [3, 4, 5, 9, 10, 11]
    labels[11] = -1
    marks = ramp(12)
    marks[4] = np.nan
    _, out, ends = cut_windows(marks, labels, window=4)
    assert ends.tolist() == [3, 8, 9, 10]       # windows ending 4..7 hold frame 4; 11 is unlabelled


def test_short_sequences_are_padded_with_their_earliest_frame():
    windows, out, ends = cut_windows(ramp(3, offset=10), np.full(3, SAD), window=5)
    assert ends.tolist() == [2] and out.tolist() == [SAD]
    assert windows[0, :, 0, 0].tolist() == [10, 10, 10, 11, 12]
    windows, _, ends = cut_windows(ramp(8), np.full(8, SAD), window=5, stride=2, min_frames=1)
    assert ends.tolist() == [1, 3, 5, 7]
    assert windows[0, :, 0, 0].tolist() == [0, 0, 0, 0, 1]


def test_cut_rejects_bad_input():
    with pytest.raises(ValueError, match="labels"):
        cut_windows(ramp(4), np.zeros(3), window=2)
    with pytest.raises(ValueError, match="at least 1"):
        cut_windows(ramp(4), np.zeros(4), window=0)


def test_interpolate_gaps_fills_short_gaps_only():
    marks = ramp(12)
    marks[[2, 3]] = np.nan
    marks[6:11] = np.nan
    filled = interpolate_gaps(marks, max_gap=2)
    assert filled[2:4, 0, 0].tolist() == [2.0, 3.0]
    assert np.isnan(filled[6:11]).all()
    assert np.array_equal(filled[[0, 1, 4, 5, 11]], marks[[0, 1, 4, 5, 11]])


# --- Aff-Wild2 -------------------------------------------------------------------------------------------

def test_affwild2_annotation_mapping(tmp_path):
    path = tmp_path / "a.txt"
    path.write_text(HEADER + "\n" + "\n".join(map(str, [0, 1, 2, 3, 4, 5, 6, 7, -1])) + "\n")
    assert read_expr_annotation(path).tolist() == [NEUTRAL, ANGER, -1, -1, HAPPY, SAD, SURPRISE, -1, -1]
    path.write_text("0\n1\n")
    with pytest.raises(ValueError, match="header"):
        read_expr_annotation(path)
    path.write_text(HEADER + "\n9\n")
    with pytest.raises(ValueError, match="-1..7"):
        read_expr_annotation(path)


def test_affwild2_windows_are_single_class_and_follow_the_annotated_person(tmp_path):
    root, notes = tmp_path / "videos", tmp_path / "EXPR_Set"
    (root / "batch1").mkdir(parents=True)
    (notes / "Train_Set").mkdir(parents=True)
    solo, duo = root / "batch1" / "solo.mp4", root / "batch1" / "duo.mp4"
    solo.touch()
    duo.touch()
    codes = [4] * 10 + [-1] * 2 + [5] * 12 + [2] * 6          # Happy, gap, Sad, Disgust (dropped)
    (notes / "Train_Set" / "solo.txt").write_text(HEADER + "\n" + "\n".join(map(str, codes)))
    (notes / "Train_Set" / "duo_left.txt").write_text(HEADER + "\n" + "6\n" * 8)
    (notes / "Train_Set" / "duo_right.txt").write_text(HEADER + "\n" + "1\n" * 8)
    (notes / "Train_Set" / "missing.txt").write_text(HEADER + "\n0\n")
    fake = FakeExtractor({
        str(solo): video([ramp(30)], [100.0]),
        str(duo): video([ramp(8, 500), ramp(8, 100)], [400.0, 80.0]),   # track 0 is on the right
    })
    jobs = affwild2_jobs(root, notes)
    assert sorted((j.source.name, j.track) for j in jobs) == [
        ("duo.mp4", "left"), ("duo.mp4", "right"), ("solo.mp4", "main")]
    sets = read_affwild2(root, notes, fake, window=4, stride=2)
    solo_rows = sets.groups == "affwild2/solo"
    assert sets.labels[solo_rows].tolist() == [HAPPY] * 4 + [SAD] * 5
    for w, label in zip(sets.landmarks[solo_rows, :, 0, 0].astype(int), sets.labels[solo_rows]):
        frames = np.array(codes)[w]
        assert (frames == {HAPPY: 4, SAD: 5}[label]).all()
    duo_rows = sets.groups == "affwild2/duo"
    starts = sets.landmarks[duo_rows, 0, 0, 0]
    assert set(zip(sets.labels[duo_rows].tolist(), (starts >= 500).tolist())) == {(SURPRISE, False), (ANGER, True)}


# --- CK+ -------------------------------------------------------------------------------------------------

def write_ck_sequence(root, subject, seq, frames, code=None, landmarks=True):
    img = root / "cohn-kanade-images" / subject / seq
    img.mkdir(parents=True)
    for f in range(1, frames + 1):
        name = f"{subject}_{seq}_{f:08d}"
        cv2.imwrite(str(img / f"{name}.png"), np.zeros((8, 8), np.uint8))
        if landmarks:
            (root / "Landmarks" / subject / seq).mkdir(parents=True, exist_ok=True)
            pts = np.full((68, 2), 100.0 + f)
            np.savetxt(root / "Landmarks" / subject / seq / f"{name}_landmarks.txt", pts, fmt="%.7e")
    if code is not None:
        (root / "Emotion" / subject / seq).mkdir(parents=True)
        (root / "Emotion" / subject / seq / f"{subject}_{seq}_{frames:08d}_emotion.txt").write_text(f"   {code:.7e}\n")
    return img


def test_ckplus_neutral_start_apex_end_and_extracted_landmarks(tmp_path):
    write_ck_sequence(tmp_path, "S005", "001", 6, code=3)          # disgust: only its neutral start counts
    write_ck_sequence(tmp_path, "S010", "002", 7, code=5)          # happy
    plain = write_ck_sequence(tmp_path, "S011", "001", 5, code=7, landmarks=False)
    fake = FakeExtractor({str(plain): video([ramp(5, 300)], [50.0])})
    sets = read_ckplus(tmp_path, fake, window=4, apex_frames=2)
    assert fake.asked == [str(plain)]
    got = sorted(zip(sets.groups.tolist(), sets.labels.tolist(), sets.landmarks[:, -1, 0, 0].tolist()))
    assert got == [("ckplus/S005", NEUTRAL, 101.0),
                   ("ckplus/S010", HAPPY, 106.0), ("ckplus/S010", HAPPY, 107.0), ("ckplus/S010", NEUTRAL, 101.0),
                   ("ckplus/S011", NEUTRAL, 300.0), ("ckplus/S011", SURPRISE, 303.0), ("ckplus/S011", SURPRISE, 304.0)]
    neutral = sets.landmarks[sets.labels == NEUTRAL]
    assert (neutral == neutral[:, :1]).all()                       # a neutral window is its first frame held
    assert read_emotion_code(tmp_path / "Emotion" / "S005" / "001" / "S005_001_00000006_emotion.txt") == 3


def test_ckplus_without_landmarks_or_extractor_skips_and_bad_files_raise(tmp_path):
    write_ck_sequence(tmp_path, "S011", "001", 5, code=7, landmarks=False)
    assert len(read_ckplus(tmp_path, None, window=4)) == 0
    bad = tmp_path / "bad.txt"
    bad.write_text("happy")
    with pytest.raises(ValueError, match="expected one number"):
        read_emotion_code(bad)
    with pytest.raises(FileNotFoundError, match="cohn-kanade-images"):
        read_ckplus(tmp_path / "nothing")


# --- RAVDESS ---------------------------------------------------------------------------------------------

def write_ravdess_csv(path, frames, success=None):
    cols = ["frame", "face_id", "timestamp", "confidence", "success"]
    cols += [f"x_{i}" for i in range(68)] + [f"y_{i}" for i in range(68)]
    lines = [", ".join(cols)]
    for f in range(frames):
        ok = 1 if success is None else success[f]
        xs, ys = [f"{200.0 + f + i:.1f}" for i in range(68)], [f"{300.0 + f:.1f}"] * 68
        lines.append(", ".join([str(f + 1), "0", f"{f / 30:.3f}", "0.98", str(ok)] + xs + ys))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")


def test_ravdess_name_and_csv(tmp_path):
    name = RavdessName.parse("02-01-04-02-01-02-12.csv")
    assert (name.modality, name.emotion, name.intensity, name.actor) == (2, 4, 2, 12)
    with pytest.raises(ValueError, match="not a RAVDESS name"):
        RavdessName.parse("clip.csv")
    path = tmp_path / "01-01-03-01-01-01-01.csv"
    write_ravdess_csv(path, 5, success=[1, 1, 0, 1, 1])
    marks = read_landmark_csv(path)
    assert marks.shape == (5, 68, 2)
    assert marks[1, 3].tolist() == [204.0, 301.0] and np.isnan(marks[2]).all()


def test_ravdess_windows_keep_five_emotions_and_group_by_actor(tmp_path):
    success = [1] * 30
    success[5] = 0                       # one dropped frame: interpolated
    write_ravdess_csv(tmp_path / "Actor_01" / "01-01-03-01-01-01-01.csv", 30, success)      # happy
    write_ravdess_csv(tmp_path / "Actor_02" / "01-01-05-02-01-01-02.csv", 30)               # angry
    write_ravdess_csv(tmp_path / "Actor_02" / "01-01-02-01-01-01-02.csv", 30)               # calm: dropped
    write_ravdess_csv(tmp_path / "notes.csv", 30)                                           # not RAVDESS
    sets = read_ravdess(tmp_path, window=10, stride=10)
    assert sorted(zip(sets.groups.tolist(), sets.labels.tolist())) == (
        [("ravdess/actor_01", HAPPY)] * 3 + [("ravdess/actor_02", ANGER)] * 3)
    assert np.isfinite(sets.landmarks).all()
    assert sets.landmarks[0, 5, 0].tolist() == [205.0, 305.0]


# --- manifest --------------------------------------------------------------------------------------------

def test_manifest_rows_become_labelled_stretches(tmp_path):
    (tmp_path / "clips").mkdir()
    clip, frames = tmp_path / "clips" / "a.mp4", tmp_path / "frames"
    clip.touch()
    frames.mkdir()
    (tmp_path / "m.csv").write_text("path,label,start,end,group\nclips/a.mp4,happy,0,10,alice\n"
                                    "clips/a.mp4,Sad,10,,alice\nframes,Surprise,,,\n")
    jobs = manifest_jobs(tmp_path / "m.csv")
    assert [(j.source, j.group, j.segments) for j in jobs] == [
        (clip, "alice", ((0, 10, HAPPY), (10, None, SAD))), (frames, "manifest/frames", ((0, None, SURPRISE),))]
    fake = FakeExtractor({str(clip): video([ramp(20)], [0.0]), str(frames): video([ramp(3)], [0.0])})
    sets = read_manifest(tmp_path / "m.csv", fake, window=5, stride=5)
    assert sorted(zip(sets.groups.tolist(), sets.labels.tolist(), sets.landmarks[:, -1, 0, 0].tolist())) == [
        ("alice", HAPPY, 4.0), ("alice", HAPPY, 9.0), ("alice", SAD, 14.0), ("alice", SAD, 19.0),
        ("manifest/frames", SURPRISE, 2.0)]


@pytest.mark.parametrize("body, message", [
    ("path,label\nclips/a.mp4,disgust\n", r"m.csv:2: unknown emotion 'disgust'"),
    ("path,label\nclips/none.mp4,Happy\n", "m.csv:2: no video"),
    ("file,label\nclips/a.mp4,Happy\n", "header must hold path and label"),
    ("path,label,start,end\nclips/a.mp4,Happy,9,3\n", r"end \(3\) must be after start \(9\)"),
    ("path,label,start\nclips/a.mp4,Happy,x\n", "start must be a frame number"),
])
def test_manifest_errors_name_the_row(tmp_path, body, message):
    (tmp_path / "clips").mkdir()
    (tmp_path / "clips" / "a.mp4").touch()
    (tmp_path / "m.csv").write_text(body)
    with pytest.raises((ValueError, FileNotFoundError), match=message):
        manifest_jobs(tmp_path / "m.csv")
