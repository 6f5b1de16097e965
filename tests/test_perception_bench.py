"""`python -m emotion bench perception` end to end on a few frames of the shared video."""

import json

import pytest

from emotion.classifier import load_classifier
from emotion.cli import main
from emotion.paths import DEPLOYED_MODEL, shared_media

from emotion.perception.pool import PerceptionPool, load_perception_threads  # noqa: E402

VIDEO = shared_media("WolfgangLanger_Pexels.mp4")


@pytest.mark.skipif(not VIDEO.is_file(), reason=f"shared video {VIDEO} is absent")
def test_bench_perception_json(capsys):
    code = main(["bench", "perception", "--json", "--all-cores", "--max-frames", "12", "--still-frames", "2",
                 "--set", "detect_every=4", "--repeat", "1"])
    assert code == 0
    report = json.loads(capsys.readouterr().out)
    for key in ("naive_fps", "tracked_fps", "speedup", "landmark_diff_iod_pct", "peak_rss_mb"):
        assert isinstance(report[key], float) and report[key] > 0, key
    assert report["video"]["frames"] == 12 and report["still"]["frames"] == 2
    assert report["video"]["naive"]["faces_per_frame"] == 1.0
    assert report["video"]["tracked"]["faces_per_frame"] == 1.0
    assert report["landmark_diff_iod_pct"] < 10
    assert report["config"]["detect_every"] == 4
    assert report["threads"] == PerceptionPool(load_perception_threads()).threads  # the component's threads
    assert set(report["video"]["tracked"]["stage_ms"]) == {"gray", "detect", "landmarks", "appearance", "other"}
    # faces are described as for the shipped model's appearance head, which the naive pipeline does not do
    assert report["appearance_frames"] == load_classifier(DEPLOYED_MODEL).appearance_frames > 0
    assert report["video"]["tracked"]["stage_ms"]["appearance"] > 0
    assert report["video"]["naive"]["stage_ms"]["appearance"] == 0


@pytest.mark.skipif(not VIDEO.is_file(), reason=f"shared video {VIDEO} is absent")
def test_bench_perception_without_description(capsys):
    assert main(["bench", "perception", "--json", "--all-cores", "--max-frames", "3", "--still", "",
                 "--repeat", "1", "--appearance-frames", "0"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["appearance_frames"] == 0 and report["video"]["tracked"]["stage_ms"]["appearance"] == 0


def test_bench_rejects_unknown_benchmark_and_bad_config(capsys):
    with pytest.raises(SystemExit):
        main(["bench", "nosuch"])
    assert main(["bench", "perception", "--all-cores", "--set", "nosuch=1"]) == 2
    assert "unknown tracker config key 'nosuch'" in capsys.readouterr().err
