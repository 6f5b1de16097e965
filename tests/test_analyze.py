"""`python -m emotion analyze`: the documented CSV, video and plot from real media, clear errors."""

import csv
import subprocess
import sys
from pathlib import Path

import cv2
import pytest

from emotion.paths import shared_media
from emotion.tools.analyze import CSV_COLUMNS, timeline

SINGLE = shared_media("single_face.mp4")
needs_media = pytest.mark.skipif(not SINGLE.is_file(), reason=f"real media missing: {SINGLE} (see README: shared data)")


def analyze(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "emotion", "analyze", *args], capture_output=True, text=True,
                          timeout=240)


@needs_media
def test_analyze_single_face_writes_documented_csv_video_and_plot(tmp_path, random_weights):
    out_csv, out_mp4, out_png = tmp_path / "a.csv", tmp_path / "a.mp4", tmp_path / "a.png"
    result = analyze(str(SINGLE), "--weights", str(random_weights), "--csv", str(out_csv), "--video", str(out_mp4),
                     "--plot", str(out_png))
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(out_csv.open()))
    assert list(rows[0].keys()) == CSV_COLUMNS
    assert CSV_COLUMNS[-5:] == ["p_happy", "p_sad", "p_neutral", "p_anger", "p_surprise"]
    frames = [int(r["frame"]) for r in rows]
    assert len(set(frames)) >= 0.9 * 72 and frames[0] == 0  # a face, and a label, from the first frame
    assert {r["input"] for r in rows} == {str(SINGLE)}
    assert int(rows[0]["buffer_frames"]) == 1 and max(int(r["buffer_frames"]) for r in rows) == 45
    for r in rows:
        probs = [float(r[c]) for c in CSV_COLUMNS[-5:]]
        assert abs(sum(probs) - 1) < 0.01 and r["label"] in ("Happy", "Sad", "Neutral", "Anger", "Surprise")
        assert int(r["w"]) > 20 and int(r["h"]) > 20
    capture = cv2.VideoCapture(str(out_mp4))
    assert int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) == 72
    assert out_png.stat().st_size > 10_000
    assert "track 0" in result.stdout or "track 1" in result.stdout


@needs_media
def test_analyze_image_folder_and_several_inputs(tmp_path, random_weights):
    folder = tmp_path / "frames"
    folder.mkdir()
    capture = cv2.VideoCapture(str(SINGLE))
    for i in range(2):
        ok, frame = capture.read()
        assert ok
        cv2.imwrite(str(folder / f"f{i}.png"), frame)
    image = shared_media("single_face.jpg")
    result = analyze(str(folder), str(image), "--weights", str(random_weights), "--csv", str(tmp_path / "b.csv"),
                     "--fps", "10")
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader((tmp_path / "b.csv").open()))
    by_input = {r["input"] for r in rows}
    assert by_input == {str(folder), str(image)}
    folder_rows = [r for r in rows if r["input"] == str(folder)]
    assert [r["frame"] for r in folder_rows] == ["0", "1"] and folder_rows[1]["time_s"] == "0.100"


def test_analyze_refuses_missing_input_and_bad_weights(tmp_path):
    result = analyze(str(tmp_path / "nope.mp4"))
    assert result.returncode == 2 and "no such input" in result.stderr
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint")
    img = tmp_path / "x.png"
    cv2.imwrite(str(img), (255 * __import__("numpy").ones((20, 20, 3))).astype("uint8"))
    result = analyze(str(img), "--weights", str(bad))
    assert result.returncode != 0 and "bad.pt" in result.stderr


def test_timeline_merges_runs_per_track():
    rows = [(0.0, 1, "Neutral"), (0.1, 1, "Neutral"), (0.1, 2, "Happy"), (0.2, 1, "Happy"), (0.3, 2, "Happy")]
    assert timeline(rows) == [(1, "Neutral", 0.0, 0.1), (2, "Happy", 0.1, 0.3), (1, "Happy", 0.2, 0.2)]


PHOTO, NO_FACE = shared_media("single_face.jpg"), shared_media("no_face.mp4")


@pytest.mark.skipif(not (PHOTO.is_file() and NO_FACE.is_file() and SINGLE.is_file()),
                    reason="real media missing (see README: shared data)")
def test_plot_of_a_photo_a_faceless_clip_and_a_video_names_the_input_without_a_face(tmp_path, random_weights):
    out_png = tmp_path / "p.png"
    result = analyze(str(PHOTO), str(NO_FACE), str(SINGLE), "--weights", str(random_weights), "--plot", str(out_png))
    assert result.returncode == 0, result.stderr
    assert f"{NO_FACE}: no face found" in result.stdout.splitlines()
    assert f"{PHOTO}: 1 face-frames" in result.stdout and f"{SINGLE}: 72 face-frames" in result.stdout
    assert cv2.imread(str(out_png)).shape[0] >= 700  # three panels: the photo's bars, the clip's curves, "no face"
    frames = 1 + int(cv2.VideoCapture(str(NO_FACE)).get(cv2.CAP_PROP_FRAME_COUNT)) + 72
    assert f"/{frames} [" in result.stderr  # the progress bar knows every input's length (so it shows an ETA)


@needs_media
def test_jobs_and_cadence_keep_the_csv(tmp_path, random_weights):
    """Processes over the inputs change nothing in the CSV; a cadence of 1 classifies every frame afresh,
    a cadence of 3 reuses a track's probabilities in between (the smoother still moves)."""
    inputs = [str(SINGLE), str(PHOTO)]
    outputs = {}
    for jobs, every in ((1, 1), (2, 1), (1, 3)):
        out = tmp_path / f"j{jobs}k{every}.csv"
        result = analyze(*inputs, "--weights", str(random_weights), "--csv", str(out), "--jobs", str(jobs),
                         "--classify-every", str(every), "--time-constant-ms", "0", "--stay-ms", "0")
        assert result.returncode == 0, result.stderr
        outputs[jobs, every] = list(csv.reader(out.open()))
    assert outputs[1, 1] == outputs[2, 1] and len(outputs[1, 1]) == 1 + 72 + 1
    fresh, cadenced = outputs[1, 1][1:73], outputs[1, 3][1:73]
    assert fresh[0] == cadenced[0]  # a new track is classified at once
    same = [a[-5:] == b[-5:] for a, b in zip(fresh, cadenced)]
    assert 0.2 < sum(same) / len(same) < 0.6  # about every third frame is classified afresh
    changes = sum(a[-5:] != b[-5:] for a, b in zip(cadenced, cadenced[1:]))
    assert changes <= len(cadenced) // 3 + 2  # without smoothing, probabilities change only when classified


def test_analyze_refuses_bad_jobs_and_cadence(tmp_path):
    img = tmp_path / "x.png"
    cv2.imwrite(str(img), (255 * __import__("numpy").ones((20, 20, 3))).astype("uint8"))
    for option in ("--jobs", "--classify-every"):
        result = analyze(str(img), option, "0")
        assert result.returncode == 2 and option in result.stderr, result.stderr


def test_speed_line_counts_from_the_start_and_from_the_first_frame():
    from emotion.tools.analyze import speed_line

    line = speed_line(3, 101, started=10.0, first=12.0, ended=14.0)
    assert line == ("analyze: 3 inputs, 101 frames in 4.0 s (0.8 inputs/s, 25.2 frames/s; 50.0 frames/s after "
                    "the first frame at 2.0 s)")
    assert speed_line(1, 0, 0.0, None, 1.0).endswith("0.0 frames/s)")
