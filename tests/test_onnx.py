"""The ONNX runtime: an export predicts what its checkpoint predicts, hostile files are refused with the
reason, the shipped export is of the shipped checkpoint, and the deployed component runs without torch."""

import json
import subprocess
import sys

import numpy as np
import onnx
import pytest

from emotion.classifier import load_classifier
from emotion.inference import EmotionClassifier
from emotion.models.onnx_export import export_onnx, file_sha256
from emotion.onnx_classifier import MAX_BYTES, METADATA_KEY, OnnxEmotionClassifier, OnnxModelError
from emotion.paths import COMPONENT_CONFIG, DEFAULT_WEIGHTS, DEPLOYED_MODEL, REPO_ROOT


@pytest.fixture(scope="module")
def exported(random_weights, tmp_path_factory):
    return export_onnx(random_weights, tmp_path_factory.mktemp("onnx") / "random.onnx")


def pixel_windows(n: int, window: int = 45, seed: int = 0) -> np.ndarray:
    """Face-like pixel landmark windows: a mean shape placed, scaled and moved a little per frame."""
    from emotion.face68 import NUM_LANDMARKS

    rng = np.random.default_rng(seed)
    shape = rng.normal(0, 1, (NUM_LANDMARKS, 2))
    drift = np.cumsum(rng.normal(0, 0.02, (n, window, NUM_LANDMARKS, 2)), axis=1)
    return (200 + 60 * (shape + drift)).astype(np.float32)


def test_export_predicts_what_its_checkpoint_predicts(random_weights, exported):
    torch_model, onnx_model = EmotionClassifier.from_checkpoint(random_weights), load_classifier(exported)
    assert isinstance(onnx_model, OnnxEmotionClassifier)
    assert (onnx_model.class_names, onnx_model.window) == (torch_model.class_names, torch_model.window)
    for n in (1, 7):
        windows = pixel_windows(n, seed=n)
        np.testing.assert_allclose(onnx_model.predict(windows), torch_model.predict(windows), atol=1e-5)
    assert onnx_model.predict(np.zeros((0, 45, 68, 2))).shape == (0, 5)
    with pytest.raises(ValueError, match="expected windows of shape"):
        onnx_model.predict(np.zeros((1, 44, 68, 2)))


def _with_metadata(source, out, value: str | None):
    model = onnx.load(str(source))
    del model.metadata_props[:]
    if value is not None:
        entry = model.metadata_props.add()
        entry.key, entry.value = METADATA_KEY, value
    onnx.save(model, str(out))
    return out


def test_hostile_model_files_are_refused_with_the_reason(exported, tmp_path):
    meta = json.loads(onnx.load(str(exported)).metadata_props[0].value)
    random_bytes = tmp_path / "random.onnx"
    random_bytes.write_bytes(np.random.default_rng(0).bytes(5000))
    huge = tmp_path / "huge.onnx"
    with open(huge, "wb") as handle:                     # sparse: costs no disk
        handle.truncate(MAX_BYTES + 1)
    from onnx import TensorProto, helper
    identity = helper.make_model(helper.make_graph(
        [helper.make_node("Identity", ["x"], ["y"])], "identity",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, 45, 68, 2])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, 45, 68, 2])]), opset_imports=[helper.make_opsetid("", 17)])
    onnx.save(identity, str(tmp_path / "identity_raw.onnx"))
    cases = {
        tmp_path / "missing.onnx": "no model at",
        random_bytes: "not a readable ONNX model",
        huge: "over the",
        _with_metadata(exported, tmp_path / "bare.onnx", None): "not an emotion model export",
        _with_metadata(exported, tmp_path / "text.onnx", "not json"): "not an emotion model export",
        _with_metadata(exported, tmp_path / "v9.onnx", json.dumps({**meta, "format_version": 9})): "export format 9",
        _with_metadata(exported, tmp_path / "dup.onnx", json.dumps({**meta, "class_names": ["A", "A"]})): "distinct",
        _with_metadata(exported, tmp_path / "long.onnx", json.dumps({**meta, "window": 50_000_000})): "window must be",
        _with_metadata(exported, tmp_path / "w44.onnx", json.dumps({**meta, "window": 44})): "does not run",
        _with_metadata(tmp_path / "identity_raw.onnx", tmp_path / "identity.onnx", json.dumps(meta)): "not probabilities",
    }
    for path, reason in cases.items():
        with pytest.raises(OnnxModelError, match=reason):
            OnnxEmotionClassifier.from_file(path)


def test_shipped_export_is_of_the_shipped_checkpoint_and_deployed():
    """weights/emotion_stgcn.onnx was exported from weights/emotion_stgcn.pt as it is now (re-export with
    `python -m emotion export` after replacing the checkpoint), and etc/config deploys it."""
    meta = json.loads(next(p.value for p in onnx.load(str(DEPLOYED_MODEL)).metadata_props if p.key == METADATA_KEY))
    assert meta["checkpoint_sha256"] == file_sha256(DEFAULT_WEIGHTS), "stale export: python -m emotion export"
    windows = pixel_windows(4)
    np.testing.assert_allclose(load_classifier(DEPLOYED_MODEL).predict(windows),
                               EmotionClassifier.from_checkpoint(DEFAULT_WEIGHTS).predict(windows), atol=1e-5)
    assert f'Model.Weights = "{DEPLOYED_MODEL.relative_to(REPO_ROOT)}"' in COMPONENT_CONFIG.read_text()


def test_deployed_component_runs_without_torch():
    """The worker built from etc/config classifies a window, and torch never enters the process."""
    script = """
import sys
import numpy as np
from emotion.middleware.componentconfig import load_component_config
from emotion.paths import COMPONENT_CONFIG
import specificworker
_, params = load_component_config(COMPONENT_CONFIG, specificworker.SpecificWorker.all_parameters())
worker = specificworker.SpecificWorker({"CameraRGBDSimpleProxy": None, "CameraSimpleProxy": None,
                                        "EmotionRecognitionPub": None}, params)
probs = worker.classifier.predict(np.random.default_rng(0).uniform(100, 300, (2, 45, 68, 2)))
print(type(worker.classifier).__name__, probs.shape, "torch" in sys.modules)
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, cwd=REPO_ROOT,
                          env={"PYTHONPATH": f"{REPO_ROOT / 'generated'}:{REPO_ROOT / 'src'}", "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["OnnxEmotionClassifier", "(2,", "5)", "False"], done.stdout


def test_export_command_writes_a_checked_model_and_refuses_bad_paths(random_weights, tmp_path):
    def export(*args):
        return subprocess.run([sys.executable, "-m", "emotion", "export", *args], capture_output=True, text=True,
                              timeout=180, cwd=tmp_path)

    done = export("--checkpoint", str(random_weights), "--out", str(tmp_path / "m.onnx"))
    assert done.returncode == 0 and "matches the checkpoint" in done.stdout, done.stderr
    assert load_classifier(tmp_path / "m.onnx").window == 45
    for args, status, reason in ((["--checkpoint", str(random_weights), "--out", str(tmp_path / "m.txt")], 2, "must end in .onnx"),
                                 (["--checkpoint", str(tmp_path / "none.pt")], 2, "no such file")):
        failed = export(*args)
        lines = failed.stderr.strip().splitlines()
        assert failed.returncode == status and len(lines) == 1 and reason in lines[0], failed.stderr
