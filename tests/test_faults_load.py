"""The load harness (``python -m emotion bench e2e``): its figures from counters and arrivals, its table and
options, and one short real run (rcnode, camera process, component) whose figures must be consistent."""

import argparse
import json

import numpy as np
import pytest

from emotion.bench import e2e
from emotion.cli import main
from emotion.paths import SAMPLE_CLIP


def snapshot(wall: float, cpu: float, rss_mb: float, **stats: float) -> dict:
    counters = dict.fromkeys(("frames_received", "frames_processed", *e2e.NOT_PROCESSED, *e2e.ERROR_COUNTERS,
                              "cameras"), 0.0)
    return {"wall": wall, "ms": wall * 1000.0, "cpu": cpu, "rss_mb": rss_mb, "stats": {**counters, **stats}}


def test_scenario_row_from_counters_and_arrivals():
    first = snapshot(100.0, 10.0, 300.0, frames_received=50, frames_dropped=2)
    last = snapshot(110.0, 15.0, 303.0, frames_received=350, frames_dropped=8, frames_stale=3, frames_invalid=1)
    latencies = np.arange(1.0, 101.0)                                  # 1..100 ms
    arrivals = np.stack([100_000.0 + latencies * 90, np.zeros(100), 100_000.0 + latencies * 90 - latencies,
                         np.ones(100), np.full(100, 45)], axis=1)
    late = np.array([[110_500.0, 0, 110_000.0, 1, 45]])               # after the window: left out
    row = e2e.scenario_row(e2e.Scenario(1, 1, 30.0), first, last, np.concatenate([arrivals, late]))
    assert row["latency_ms_p50"] == pytest.approx(50.5) and row["latency_ms_p99"] == pytest.approx(99.0)
    assert row["fps_in"] == 30.0 and row["fps_out"] == 10.0
    assert row["drop_pct"] == pytest.approx(100 * 10 / 300, abs=0.05)
    assert row["cpu_pct"] == 50.0 and (row["rss_mb_start"], row["rss_mb_end"]) == (300.0, 303.0)
    assert row["rate"] == "30" and e2e.scenario_row(e2e.Scenario(1, 5, 0.0), first, first, arrivals[:0])[
        "latency_ms_p95"] is None


def test_soak_summary_flags_growth_and_errors():
    first = snapshot(0.0, 0.0, 400.0, cameras=2)
    steady = [snapshot(60.0 * i, 30.0 * i, 401.0, cameras=2) for i in (1, 2)]
    arrivals = np.array([[500.0, 0, 480.0, 1, 45], [900.0, 1, 880.0, 2, 30]])
    good = e2e.soak_summary(first, steady, arrivals, alive=True)
    assert good["ok"] and good["minutes"] == 2.0 and good["rss_growth_pct"] == 0.25
    assert (good["max_faces_per_frame"], good["max_buffer_frames"], good["max_cameras"]) == (2, 45, 2)
    leaking = e2e.soak_summary(first, [snapshot(60.0, 1.0, 440.0)], arrivals, alive=True)
    assert not leaking["ok"] and leaking["rss_growth_pct"] == 10.0
    failing = e2e.soak_summary(first, [snapshot(60.0, 1.0, 400.0, pipeline_errors=1)], arrivals, alive=True)
    assert not failing["ok"] and failing["errors"]["pipeline_errors"] == 1
    assert not e2e.soak_summary(first, steady, arrivals, alive=False)["ok"]


@pytest.mark.parametrize("text, expected", [("4x1@30", e2e.Scenario(4, 1, 30.0)),
                                            ("1x5@max", e2e.Scenario(1, 5, 0.0))])
def test_parse_scenario(text, expected):
    assert e2e.parse_scenario(text) == expected


@pytest.mark.parametrize("text", ["4x1", "4@30", "0x1@30", "1x3@30", "1x1@-5", "ax1@30"])
def test_parse_scenario_refuses_bad_text(text):
    with pytest.raises(argparse.ArgumentTypeError, match="scenario"):
        e2e.parse_scenario(text)


def test_table_has_every_column_and_a_dash_for_missing_figures():
    row = {column: 1 for column in e2e.COLUMNS} | {"latency_ms_p95": None}
    header, line = e2e.format_table([row]).splitlines()
    assert header.split() == list(e2e.COLUMNS) and line.split().count("-") == 1


def test_missing_weights_is_one_error_line(tmp_path, capsys):
    assert main(["bench", "e2e", "--weights", str(tmp_path / "none.pt")]) == 1
    assert "no model weights at" in capsys.readouterr().err


def test_short_real_run(random_weights, capsys):
    if not SAMPLE_CLIP.is_file():
        pytest.skip(f"sample clip {SAMPLE_CLIP} is missing (media/ of the repository)")
    assert main(["bench", "e2e", "--json", "--weights", str(random_weights), "--scenario", "1x1@15",
                 "--seconds", "2", "--warmup", "0.5"]) == 0
    (row,) = json.loads(capsys.readouterr().out)["scenarios"]
    for key in ("cameras", "faces", "rate", "latency_ms_p50", "latency_ms_p95", "latency_ms_p99", "fps_in",
                "fps_out", "drop_pct", "rss_mb_start", "rss_mb_end"):
        assert row[key] is not None, key
    assert (row["cameras"], row["faces"], row["rate"], row["components"]) == (1, 1, "15", 1)
    assert 0 < row["latency_ms_p50"] <= row["latency_ms_p95"] <= row["latency_ms_p99"] < 2000
    assert 10 <= row["fps_in"] <= 17 and 0 < row["fps_out"] <= row["fps_in"] + 1
    # drop_pct comes from the component's counters, fps_out from the states that arrived: they must agree
    # (within 3 of the ~30 frames, for frames in flight at the window's edges)
    assert row["drop_pct"] == pytest.approx(100 * (1 - row["fps_out"] / row["fps_in"]), abs=10), row
    assert row["rss_mb_start"] > 50 and row["faces_per_frame"] > 0.5


def test_camera_format_auto_is_jpeg_beyond_one_face():
    fmt = e2e.scenario_format
    assert fmt(e2e.Scenario(1, 1, 30.0), "auto") == "raw"
    assert {fmt(e2e.Scenario(c, f, 30.0), "auto") for c, f in ((1, 5), (4, 1), (4, 5))} == {"jpeg"}
    assert fmt(e2e.Scenario(4, 5, 30.0), "raw") == "raw" and fmt(e2e.Scenario(1, 1, 30.0), "jpeg") == "jpeg"
    with pytest.raises(ValueError, match="camera format"):
        fmt(e2e.Scenario(1, 1, 30.0), "png")
