"""`python -m emotion evaluate`: figures printed and written for a checkpoint on a window file."""

import json

import numpy as np
import pytest
import torch

from emotion.checkpoint import save_checkpoint
from emotion.classes import EMOTIONS
from emotion.cli import main
from emotion.datasets.windows import WindowSet
from emotion.features import FeatureConfig
from emotion.inference import EmotionClassifier
from emotion.models import ModelConfig, build_model
from emotion.normalize import NormalizationConfig
from emotion.training.metrics import evaluate_predictions

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """An untrained tiny checkpoint and 40 random 12-frame windows (stored as 15 frames, in another class order)."""
    root = tmp_path_factory.mktemp("evaluate")
    torch.manual_seed(0)
    mc = ModelConfig(blocks=((8, 2),), temporal_kernel=3, window=12)
    fc = FeatureConfig(velocity=True)
    model = build_model(mc, fc.channels, len(EMOTIONS)).eval()
    ckpt = root / "tiny.pt"
    save_checkpoint(ckpt, model, mc, fc, NormalizationConfig(), EMOTIONS, {"note": "test"})
    rng = np.random.default_rng(0)
    lm = rng.normal(0, 4, (40, 15, 68, 2)) + [300.0, 200.0]
    lm[:, :, 36:42, 0] -= 30
    lm[:, :, 42:48, 0] += 30
    names = tuple(reversed(EMOTIONS))
    data = WindowSet(lm.astype(np.float32), rng.integers(0, 5, 40), [f"v{i % 4}" for i in range(40)], names)
    return ckpt, data.save(root / "windows.npz"), data


def test_evaluate_prints_and_writes_the_figures(files, tmp_path, capsys):
    ckpt, path, data = files
    assert main(["evaluate", "--checkpoint", str(ckpt), "--data", str(path), "--out", str(tmp_path), "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    clf = EmotionClassifier.from_checkpoint(ckpt)
    stored = WindowSet.load(path)  # float16 on disk: predict what evaluate saw
    probs = clf.predict(stored.landmarks[:, -12:].astype(np.float32))
    labels = np.array([EMOTIONS.index(data.class_names[y]) for y in data.labels])
    expected = evaluate_predictions(labels, probs.argmax(1), EMOTIONS)
    assert printed["accuracy"] == pytest.approx(expected["accuracy"])
    assert printed["macro_f1"] == pytest.approx(expected["macro_f1"])
    assert printed["confusion"] == expected["confusion"]
    assert set(printed["per_class"]) == set(EMOTIONS)
    assert json.loads((tmp_path / "metrics.json").read_text())["n"] == 40
    assert (tmp_path / "confusion.png").stat().st_size > 1000


def test_evaluate_table_and_errors(files, tmp_path, capsys):
    ckpt, path, _ = files
    assert main(["evaluate", "--checkpoint", str(ckpt), "--data", str(path)]) == 0
    out = capsys.readouterr().out
    assert "macro-F1" in out and "precision" in out and all(name in out for name in EMOTIONS)
    assert main(["evaluate", "--checkpoint", str(ckpt), "--data", str(tmp_path / "missing.npz")]) == 1
    assert "no window file" in capsys.readouterr().err


def test_evaluate_mirror_reports_the_labels_a_mirror_image_changes(tmp_path, capsys):
    """A head reading the mouth's sideways shift flips with the mirror; one reading its height does not."""
    mc = ModelConfig(blocks=((8, 2),), temporal_kernel=3, window=12, geometry_frames=2)
    fc = FeatureConfig(velocity=True)
    rng = np.random.default_rng(1)
    lm = rng.normal(0, 3, (60, 12, 68, 2)) + [300.0, 200.0]
    lm[:, :, 36:42, 0] -= 30
    lm[:, :, 42:48, 0] += 30
    lm[:, :, 48:68, 1] += 40
    path = WindowSet(lm.astype(np.float32), np.arange(60) % 5, [f"v{i}" for i in range(60)]).save(tmp_path / "w.npz")
    changes = {}
    for name, column in (("sideways", 0), ("height", 68)):
        model = build_model(mc, fc.channels, len(EMOTIONS)).eval()
        with torch.no_grad():
            model.head.weight.zero_()
            model.head.bias.zero_()
            model.geometry.weight.zero_()
            model.geometry.weight[0, [column + 48, column + 54]] = 10.0   # Happy: both mouth corners' x (or y)
        ckpt = save_checkpoint(tmp_path / f"{name}.pt", model, mc, fc, NormalizationConfig(), EMOTIONS)
        assert main(["evaluate", "--checkpoint", str(ckpt), "--data", str(path), "--mirror", "--json"]) == 0
        printed = json.loads(capsys.readouterr().out)
        changes[name] = printed["mirror_changes"]
        assert set(printed["mirrored"]["per_class"]) == set(EMOTIONS)
    assert changes["sideways"] > 0.2 and changes["height"] == 0.0, changes
    assert main(["evaluate", "--checkpoint", str(ckpt), "--data", str(path), "--mirror"]) == 0
    assert "the mirror image changes the label of 0.0000" in capsys.readouterr().out
