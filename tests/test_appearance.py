"""The appearance descriptor and the appearance head: a HOG of the face in its own frame, its mirror as a
permutation, the per-track buffer, the head in the network, its export and its place in the pipeline."""

import dataclasses
import re
import subprocess
import sys

import cv2
import numpy as np
import pytest
import torch

from emotion.appearance import CROP_PX, DESCRIPTOR_SIZE, describe, face_crop, hog, mirror_descriptor
from emotion.checkpoint import save_checkpoint
from emotion.classes import EMOTIONS
from emotion.datasets.video import read_image
from emotion.datasets.windows import WindowSet
from emotion.face68 import MIRROR
from emotion.features import FeatureConfig
from emotion.inference import EmotionClassifier
from emotion.models import COMPACT, build_model
from emotion.models.onnx_export import export_onnx
from emotion.normalize import NormalizationConfig
from emotion.onnx_classifier import OnnxEmotionClassifier
from emotion.paths import REPO_ROOT, shared_dir, shared_media
from emotion.perception.buffer import AppearanceBuffer

needs_media = pytest.mark.skipif(not (shared_dir() / "media").is_dir(),
                                 reason=f"shared media folder {shared_dir() / 'media'} is absent")


def test_hog_of_a_flipped_crop_is_the_permuted_hog():
    crop = np.random.default_rng(0).integers(0, 256, (CROP_PX, CROP_PX)).astype(np.uint8)
    crop = cv2.GaussianBlur(crop, (5, 5), 1.5)
    described = hog(crop)
    assert described.shape == (DESCRIPTOR_SIZE,) and described.dtype == np.float32
    np.testing.assert_allclose(hog(crop[:, ::-1].copy()), mirror_descriptor(described), atol=1e-5)
    assert not np.allclose(hog(crop[:, ::-1].copy()), described, atol=1e-2)
    np.testing.assert_array_equal(mirror_descriptor(mirror_descriptor(described)), described)
    assert not hog(np.full((CROP_PX, CROP_PX), 128, np.uint8)).any()   # no gradient: nothing seen
    with pytest.raises(ValueError, match="crop"):
        hog(np.zeros((32, 32), np.uint8))


def test_hog_ignores_brightness_and_contrast():
    crop = cv2.GaussianBlur(np.random.default_rng(1).integers(0, 200, (CROP_PX, CROP_PX)).astype(np.uint8), (5, 5), 1.5)
    darker = (crop.astype(np.float32) * 0.5 + 20).astype(np.uint8)
    assert np.corrcoef(hog(crop), hog(darker))[0, 1] > 0.98


@pytest.fixture(scope="module")
def photo_faces():
    """The faces of a real group photo: its grey image and each face's landmarks."""
    from emotion.perception.tracking import FaceTracker, load_tracker_config

    image = read_image(shared_media("multi_face.jpg"))
    faces = FaceTracker(load_tracker_config()).update(image, 0)
    assert len(faces) >= 3
    return cv2.cvtColor(image, cv2.COLOR_BGR2GRAY), [face.landmarks for face in faces]


@needs_media
def test_a_face_is_described_the_same_mirrored_and_at_any_size(photo_faces):
    grey, faces = photo_faces
    flipped = grey[:, ::-1].copy()
    width = grey.shape[1]
    bigger = cv2.resize(grey, None, fx=2, fy=2, interpolation=cv2.INTER_CUBIC)
    for landmarks in faces:
        described = describe(grey, landmarks)
        assert described.shape == (DESCRIPTOR_SIZE,) and np.isfinite(described).all() and described.any()
        mirrored = landmarks[MIRROR].copy()
        mirrored[:, 0] = width - 1 - mirrored[:, 0]
        of_flipped = describe(flipped, mirrored)
        assert np.corrcoef(mirror_descriptor(described), of_flipped)[0, 1] > 0.98
        assert np.corrcoef(described, of_flipped)[0, 1] < 0.8   # a face is not its own mirror image
        assert np.corrcoef(described, describe(bigger, landmarks * 2 + 0.5))[0, 1] > 0.97
    others = [describe(grey, landmarks) for landmarks in faces]
    assert np.corrcoef(others[0], others[1])[0, 1] < 0.95   # different people look different
    crop = face_crop(grey, faces[0])
    assert crop.shape == (CROP_PX, CROP_PX) and crop.dtype == np.uint8
    with pytest.raises(ValueError, match="landmarks"):
        face_crop(grey, faces[0][:10])


def test_appearance_buffer_averages_the_last_descriptors():
    buffer = AppearanceBuffer(2)
    assert len(buffer) == 0 and not buffer.mean().any()
    for value in (1.0, 2.0, 4.0):
        buffer.append(np.full(DESCRIPTOR_SIZE, value))
    assert len(buffer) == 2 and np.allclose(buffer.mean(), 3.0)
    with pytest.raises(ValueError, match="descriptor"):
        buffer.append(np.zeros(10))
    with pytest.raises(ValueError, match="finite"):
        buffer.append(np.full(DESCRIPTOR_SIZE, np.nan))
    with pytest.raises(ValueError, match="capacity"):
        AppearanceBuffer(0)


def test_appearance_buffer_averages_the_descriptors_of_its_last_frames_however_many_were_described():
    buffer = AppearanceBuffer(4)
    for frame, value in ((0, 1.0), (2, 2.0), (3, 4.0)):
        buffer.append(np.full(DESCRIPTOR_SIZE, value), frame)
    assert len(buffer) == 3 and np.allclose(buffer.mean(), 7.0 / 3)
    buffer.append(np.full(DESCRIPTOR_SIZE, 6.0), 6)          # frames 3..6: 0 and 2 are out
    assert len(buffer) == 2 and np.allclose(buffer.mean(), 5.0)
    buffer.append(np.full(DESCRIPTOR_SIZE, 8.0), 20)         # a face described again after a long gap
    assert len(buffer) == 1 and np.allclose(buffer.mean(), 8.0)
    with pytest.raises(ValueError, match="increase"):
        buffer.append(np.zeros(DESCRIPTOR_SIZE), 20)


def _model_with_appearance():
    torch.manual_seed(0)
    config = dataclasses.replace(COMPACT, geometry_frames=6, appearance_frames=4)
    model = build_model(config, FeatureConfig().channels, len(EMOTIONS)).eval()
    with torch.no_grad():
        model.appearance.weight.normal_(0, 0.05)
        model.appearance.bias.normal_(0, 0.5)
    return config, model


def _engine_with_appearance(tmp_path):
    """An engine on the component's tracker settings running ``_model_with_appearance``'s model."""
    from emotion.engine import EmotionEngine
    from emotion.perception.tracking import load_tracker_config

    config, model = _model_with_appearance()
    checkpoint = save_checkpoint(tmp_path / "look.pt", model, config, FeatureConfig(), NormalizationConfig(), EMOTIONS)
    return EmotionEngine(EmotionClassifier.from_checkpoint(checkpoint), load_tracker_config())


def test_the_appearance_head_adds_its_logits_and_nothing_for_a_zero_descriptor():
    _, model = _model_with_appearance()
    x = torch.randn(3, FeatureConfig().channels, 45, 68)
    seen = torch.rand(3, DESCRIPTOR_SIZE) * torch.tensor([0.0, 1.0, 1.0])[:, None]
    with torch.no_grad():
        alone, both = model(x), model(x, seen)
        torch.testing.assert_close(both[0], alone[0])          # the first face has no descriptor
        torch.testing.assert_close(both[1:], alone[1:] + model.appearance(seen[1:]))
    from emotion.models.deploy import for_inference
    deployed = for_inference(model, FeatureConfig().channels, 45)
    assert deployed is not model                                # traced with its second input, not left eager
    with torch.no_grad():
        torch.testing.assert_close(deployed(x, seen), both, atol=1e-4, rtol=0)
    with pytest.raises(ValueError, match="appearance_frames"):
        dataclasses.replace(COMPACT, appearance_frames=3)       # it is fitted with a geometry head


def test_the_network_counts_network_weight_times_only_where_a_descriptor_is_seen(tmp_path):
    config, model = _model_with_appearance()
    x = torch.randn(3, FeatureConfig().channels, 45, 68)
    seen = torch.rand(3, DESCRIPTOR_SIZE) * torch.tensor([0.0, 1.0, 1.0])[:, None]
    with torch.no_grad():
        torch.nn.init.normal_(model.geometry.weight)
        network = model.classify(model.feature_map(x))
        shape = model.geometry(model.geometry_input(x))
        model.network_weight.fill_(0.25)
        weighted = model(x, seen)
    torch.testing.assert_close(weighted[0], network[0] + shape[0])       # no descriptor: full weight
    torch.testing.assert_close(weighted[1:], 0.25 * network[1:] + shape[1:] + model.appearance(seen[1:]))
    torch.testing.assert_close(model(x), network + shape)                # landmarks only: as before
    checkpoint = save_checkpoint(tmp_path / "look.pt", model, config, FeatureConfig(), NormalizationConfig(), EMOTIONS)
    onnx_model = OnnxEmotionClassifier.from_file(export_onnx(checkpoint, tmp_path / "look.onnx"))
    rng = np.random.default_rng(1)
    windows = (200 + 60 * rng.normal(0, 1, (1, 1, 68, 2)) + rng.normal(0, 1, (3, 45, 68, 2))).astype(np.float32)
    looks = seen.numpy()
    np.testing.assert_allclose(onnx_model.predict(windows, looks),
                               EmotionClassifier.from_checkpoint(checkpoint).predict(windows, looks), atol=1e-5)


def test_export_with_an_appearance_head_takes_descriptors_and_matches_the_checkpoint(tmp_path):
    config, model = _model_with_appearance()
    checkpoint = save_checkpoint(tmp_path / "look.pt", model, config, FeatureConfig(), NormalizationConfig(), EMOTIONS)
    torch_model = EmotionClassifier.from_checkpoint(checkpoint)
    onnx_model = OnnxEmotionClassifier.from_file(export_onnx(checkpoint, tmp_path / "look.onnx"))
    assert torch_model.appearance_frames == onnx_model.appearance_frames == 4
    assert [i.name for i in onnx_model.session.get_inputs()] == ["landmarks", "appearance"]
    rng = np.random.default_rng(0)
    windows = (200 + 60 * rng.normal(0, 1, (1, 1, 68, 2)) + rng.normal(0, 1, (4, 45, 68, 2))).astype(np.float32)
    seen = rng.random((4, DESCRIPTOR_SIZE)).astype(np.float32)
    seen[0] = 0
    with_looks, without = onnx_model.predict(windows, seen), onnx_model.predict(windows)
    np.testing.assert_allclose(with_looks, torch_model.predict(windows, seen), atol=1e-5)
    np.testing.assert_allclose(with_looks[0], without[0], atol=1e-6)
    assert np.abs(with_looks[1:] - without[1:]).max() > 1e-3
    with pytest.raises(ValueError, match="appearance of shape"):
        onnx_model.predict(windows, seen[:2])
    with pytest.raises(ValueError, match="NaN"):
        onnx_model.predict(windows, np.full_like(seen, np.nan))


def test_window_sets_keep_appearance_through_files_subsets_and_joins(tmp_path):
    rng = np.random.default_rng(0)
    looks = WindowSet(rng.normal(size=(3, 1, 68, 2)), [0, 1, 2], ["a", "b", "c"],
                      appearance=rng.random((3, DESCRIPTOR_SIZE)))
    plain = WindowSet(rng.normal(size=(2, 1, 68, 2)), [3, 4], ["d", "e"])
    loaded = WindowSet.load(looks.save(tmp_path / "looks.npz"))
    np.testing.assert_allclose(loaded.appearance, looks.appearance, atol=1e-3)   # float16 on disk
    assert WindowSet.load(plain.save(tmp_path / "plain.npz")).appearance is None
    assert looks.subset(np.array([2])).appearance.shape == (1, DESCRIPTOR_SIZE)
    joined = WindowSet.concatenate([looks, plain])
    assert joined.appearance.shape == (5, DESCRIPTOR_SIZE) and not joined.appearance[3:].any()
    assert WindowSet.concatenate([plain, plain]).appearance is None
    with pytest.raises(ValueError, match="appearance must be.*another version.*prepare the photos again"):
        WindowSet(rng.normal(size=(2, 1, 68, 2)), [0, 1], ["a", "b"], appearance=np.zeros((2, 5)))


@needs_media
def test_a_tracker_that_describes_faces_keeps_their_last_descriptors():
    from emotion.datasets.video import iter_frames
    from emotion.perception.tracking import FaceTracker, load_tracker_config

    tracker = FaceTracker(load_tracker_config(), appearance_frames=3)
    plain = FaceTracker(load_tracker_config())
    for index, timestamp, frame in iter_frames(shared_media("single_face.mp4")):
        result = tracker.track(frame, int(timestamp))
        plain_faces = plain.update(frame, int(timestamp))
        if index == 5:
            break
    face = result.faces[0]
    assert len(face.appearance) == 3 and result.stage_ms["appearance"] > 0
    grey = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
    last = describe(grey, face.landmarks)
    assert np.corrcoef(face.appearance.mean(), last)[0, 1] > 0.9
    assert plain_faces[0].appearance is None


@needs_media
def test_the_engine_gives_a_model_with_an_appearance_head_each_face_s_mean_descriptor(tmp_path):
    from emotion.datasets.video import iter_frames

    engine = _engine_with_appearance(tmp_path)
    classifier = engine.classifier
    for index, timestamp, frame in iter_frames(shared_media("single_face.mp4")):
        engine.process(frame, int(timestamp))
        if index == 6:
            break
    face = engine.tracker.tracks[0]
    assert engine.tracker.appearance_frames == 4 and len(face.appearance) == 4
    window = face.buffer.window(pad=True)[None]
    given = engine.probabilities(face, None)      # what the engine's model call gave this face on the last frame
    np.testing.assert_allclose(given, classifier.predict(window, face.appearance.mean()[None])[0], atol=1e-5)
    assert np.abs(given - classifier.predict(window)[0]).max() > 1e-3


def test_bench_heads_cross_validation_reads_what_the_appearance_carries():
    from emotion.bench.heads import cross_validate
    from emotion.training.config import GeometryConfig

    n, rng = 400, np.random.default_rng(0)
    labels = np.arange(n) % 5
    faces = (200 + 40 * rng.normal(0, 1, (1, 1, 68, 2)) + rng.normal(0, 2, (n, 1, 68, 2))).astype(np.float32)
    looks = np.full((n, DESCRIPTOR_SIZE), 0.05, np.float32)
    looks[np.arange(n), 40 + labels * 300] += 1.0          # the class is in the texture, not in the shape
    stills = WindowSet(faces, labels, np.array([f"p{i // 2}" for i in range(n)]), appearance=looks)
    config = GeometryConfig(l2=1e-4)
    shape_only = (cross_validate(stills, None, config, folds=3) == labels).mean()
    with_looks = (cross_validate(stills, 0.001, config, folds=3) == labels).mean()
    assert with_looks > 0.95 and shape_only < 0.5
    with pytest.raises(ValueError, match="appearance"):
        cross_validate(WindowSet(faces, labels, stills.groups), 0.1, config, folds=3)


@needs_media
def test_at_a_cadence_the_engine_describes_a_face_on_the_frames_it_classifies_it_on_only(tmp_path):
    from emotion.cadence import CadenceConfig, ClassifyCadence
    from emotion.datasets.video import iter_frames
    from emotion.engine import FrameJob, process_frames

    engine = _engine_with_appearance(tmp_path)
    cadence = ClassifyCadence(CadenceConfig(every=3))
    classified = []
    for index, timestamp, frame in iter_frames(shared_media("single_face.mp4")):
        result = process_frames([FrameJob(engine, frame, int(timestamp))], cadence=cadence)
        classified.append(result.classified)
        if index == 11:
            break
    face = engine.tracker.tracks[0]
    assert 3 <= sum(classified) <= 5 < len(classified)       # a new track at once, then every third frame
    assert len(face.appearance) == 2                          # 4 frames of appearance hold 2 classified ones
    described_ms = engine.tracker.track(frame, int(timestamp) + 33, describe_face=lambda f: False).stage_ms
    assert described_ms["appearance"] == 0.0 and described_ms["landmarks"] > 0


def test_bench_experts_scores_the_network_weight_on_stills_with_their_descriptors(tmp_path):
    from emotion.bench.experts import score_weight
    from emotion.checkpoint import load_checkpoint

    config, model = _model_with_appearance()
    n, rng = 50, np.random.default_rng(0)
    labels = np.arange(n) % 5
    with torch.no_grad():                 # the network says Happy to every face; the texture says the class
        model.head.weight.zero_()
        model.head.bias.copy_(torch.tensor([5.0, 0, 0, 0, 0]))
        model.appearance.weight.zero_()
        model.appearance.bias.zero_()
        for c in range(5):
            model.appearance.weight[c, 40 + c * 300] = 3.0
    path = save_checkpoint(tmp_path / "look.pt", model, config, FeatureConfig(), NormalizationConfig(), EMOTIONS)
    looks = np.full((n, DESCRIPTOR_SIZE), 0.01, np.float32)
    looks[np.arange(n), 40 + labels * 300] = 1.0
    faces = (200 + 40 * rng.normal(0, 1, (1, 1, 68, 2)) + rng.normal(0, 1, (n, 45, 68, 2))).astype(np.float32)
    stills = WindowSet(faces, labels, np.array([f"p{i}" for i in range(n)]), appearance=looks)
    checkpoint = load_checkpoint(path)
    full, half = (score_weight(checkpoint, w, stills, None)["stills"]["accuracy"] for w in (1.0, 0.5))
    assert full == pytest.approx(0.2) and half == 1.0
    plain = tmp_path / "plain.pt"
    save_checkpoint(plain, build_model(COMPACT, FeatureConfig().channels, len(EMOTIONS)), COMPACT, FeatureConfig(),
                    NormalizationConfig(), EMOTIONS)
    for args, code, words in ((["--weights", str(plain)], 1, "no appearance head"),
                              (["--network-weight", "2"], 2, "must be in \\[0, 1\\]")):
        done = subprocess.run([sys.executable, "-m", "emotion", "bench", "experts", *args, "--media",
                               str(tmp_path / "none"), "--stills", str(tmp_path / "none.npz")],
                              cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
        assert done.returncode == code and re.search(words, done.stderr), done.stderr
        assert len(done.stderr.strip().splitlines()) == 1, done.stderr   # one clear line
