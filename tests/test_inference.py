"""EmotionClassifier: checkpoint -> batched probabilities from pixel landmarks."""

import numpy as np
import pytest
import torch

from emotion.checkpoint import CheckpointError, save_checkpoint
from emotion.classes import EMOTIONS
from emotion.features import FeatureConfig
from emotion.inference import EmotionClassifier
from emotion.models import ModelConfig, build_model
from emotion.normalize import NormalizationConfig

torch.set_num_threads(1)
CFG = ModelConfig(blocks=((8, 2), (16, 2)), window=15)


@pytest.fixture(scope="module")
def classifier(tmp_path_factory) -> EmotionClassifier:
    torch.manual_seed(0)
    model = build_model(CFG, 4, len(EMOTIONS))
    path = tmp_path_factory.mktemp("ckpt") / "m.pt"
    save_checkpoint(path, model, CFG, FeatureConfig(), NormalizationConfig(), EMOTIONS, {})
    return EmotionClassifier.from_checkpoint(path, threads=1)


def _windows(n: int, t: int = 15, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (rng.normal(scale=20.0, size=(n, t, 68, 2)) + 200.0).astype(np.float32)


def test_probabilities(classifier):
    assert classifier.class_names == EMOTIONS and classifier.window == 15
    probs = classifier.predict(_windows(4))
    assert probs.shape == (4, 5) and probs.dtype == np.float32
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)
    assert (probs >= 0).all()
    assert classifier.predict(np.zeros((0, 15, 68, 2))).shape == (0, 5)


def test_batch_equals_one_by_one(classifier):
    windows = _windows(3)
    batched = classifier.predict(windows)
    single = np.concatenate([classifier.predict(w[None]) for w in windows])
    np.testing.assert_allclose(batched, single, rtol=1e-4, atol=1e-6)
    assert not np.allclose(batched[0], batched[1])            # different inputs, different outputs


def test_pixels_are_normalised_first(classifier):
    windows = _windows(2)
    moved = windows * 2.5 + np.array([300.0, -40.0], dtype=np.float32)   # bigger face, elsewhere in the image
    np.testing.assert_allclose(classifier.predict(moved), classifier.predict(windows), rtol=1e-4, atol=1e-5)


def test_bad_input_and_missing_weights(classifier, tmp_path):
    with pytest.raises(ValueError, match=r"\(N, 15, 68, 2\)"):
        classifier.predict(_windows(2, t=10))
    with pytest.raises(ValueError, match=r"\(N, 15, 68, 2\)"):
        classifier.predict(_windows(1)[0])
    with pytest.raises(CheckpointError, match="no checkpoint"):
        EmotionClassifier.from_checkpoint(tmp_path / "none.pt")


def test_in_memory_construction_sets_eval_mode():
    model = build_model(CFG, 2, 3).train()
    clf = EmotionClassifier(model, CFG, FeatureConfig(velocity=False), NormalizationConfig(), ["a", "b", "c"], 15)
    assert not clf.model.training and clf.predict(_windows(2)).shape == (2, 3)
