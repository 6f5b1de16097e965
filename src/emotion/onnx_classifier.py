"""Batched emotion prediction without torch: an ONNX export (``emotion.models.onnx_export``) on onnxruntime.

A ``emotion.classifier.Classifier`` like ``emotion.inference.EmotionClassifier`` at a
third of its memory (no torch in the process) and below its latency. A file is refused, with a
``ValueError`` that says why, when it is missing, over ``MAX_BYTES``, not an ONNX model, without this
project's metadata, or when its graph does not take windows (and, for a model with an appearance head,
appearance descriptors) and give one probability per class.
"""

import json
from pathlib import Path

import numpy as np

from emotion.appearance import DESCRIPTOR_SIZE
from emotion.classes import check_class_names
from emotion.classifier import Classifier
from emotion.defaults import MAX_WINDOW
from emotion.face68 import NUM_LANDMARKS
from emotion.normalize import NormalizationConfig

METADATA_KEY: str = "emotion"
FORMAT_VERSION: int = 1
MAX_BYTES: int = 64 * 2**20
"""Largest model file read (the shipped compact model is under 1 MB)."""


class OnnxModelError(ValueError):
    """An ONNX model file that cannot be used; the message says why."""


class OnnxEmotionClassifier(Classifier):
    """An exported network on onnxruntime's CPU provider, with its normalisation and class names."""

    def __init__(self, session, class_names: tuple[str, ...], window: int, norm_config: NormalizationConfig,
                 appearance_frames: int = 0) -> None:
        self.session = session
        self.class_names = class_names
        self.window = window
        self.norm_config = norm_config
        self.appearance_frames = appearance_frames

    @classmethod
    def from_file(cls, path: str | Path, threads: int | None = None) -> "OnnxEmotionClassifier":
        """Load and check ``path``; ``threads`` is onnxruntime's intra-op thread count (default 1)."""
        import onnxruntime

        path = Path(path)
        if threads is not None and threads < 1:
            raise ValueError(f"threads must be >= 1, got {threads}")
        if not path.is_file():
            raise OnnxModelError(f"no model at {path} (export one: python -m emotion export --checkpoint CKPT.pt)")
        if path.stat().st_size > MAX_BYTES:
            raise OnnxModelError(f"{path} is {path.stat().st_size} bytes, over the {MAX_BYTES}-byte limit of a model")
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads or 1
        options.inter_op_num_threads = 1
        options.log_severity_level = 3  # errors only: the refusal below says what went wrong
        try:
            session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own Fail/InvalidProtobuf/... types
            raise OnnxModelError(f"{path} is not a readable ONNX model ({type(exc).__name__})") from None
        names, window, norm, appearance_frames = _read_metadata(path, session.get_modelmeta().custom_metadata_map)
        classifier = cls(session, names, window, norm, appearance_frames)
        classifier._check_graph(path)
        return classifier

    def _check_graph(self, path: Path) -> None:
        """An input of windows (and one of appearance descriptors for a model with an appearance head) and one
        output of class probabilities, checked on a batch of two."""
        inputs, outputs = self.session.get_inputs(), self.session.get_outputs()
        expected = 2 if self.appearance_frames else 1
        if len(inputs) != expected or len(outputs) != 1 or any(i.type != "tensor(float)" for i in inputs):
            raise OnnxModelError(f"{path}: expected {expected} float input(s) and one output, got {len(inputs)} and "
                                 f"{len(outputs)}")
        appearance = np.zeros((2, DESCRIPTOR_SIZE), np.float32) if self.appearance_frames else None
        try:
            probs = self.probabilities(np.zeros((2, self.window, NUM_LANDMARKS, 2), np.float32), appearance)
        except Exception as exc:
            raise OnnxModelError(f"{path}: the graph does not run on (2, {self.window}, {NUM_LANDMARKS}, 2) windows "
                                 f"({type(exc).__name__})") from None
        if probs.shape != (2, len(self.class_names)) or not np.allclose(probs.sum(axis=1), 1.0, atol=1e-3):
            raise OnnxModelError(f"{path}: the graph gives {probs.shape}, not probabilities of "
                                 f"{len(self.class_names)} classes")

    def probabilities(self, normalised: np.ndarray, appearance: np.ndarray | None) -> np.ndarray:
        """The graph (features, network, softmax). Shape: (N, window, 68, 2) normalised float32 [, appearance
        (N, DESCRIPTOR_SIZE) float32] -> (N, classes)."""
        inputs = self.session.get_inputs()
        feed = {inputs[0].name: normalised}
        if appearance is not None:
            feed[inputs[1].name] = appearance
        return self.session.run(None, feed)[0]


def _read_metadata(path: Path, metadata: dict[str, str]) -> tuple[tuple[str, ...], int, NormalizationConfig, int]:
    """Class names, window, normalisation and the appearance head's frames from the model's ``METADATA_KEY``
    entry."""
    try:
        data = json.loads(metadata[METADATA_KEY])
    except (KeyError, ValueError):
        raise OnnxModelError(f"{path} is not an emotion model export (no readable {METADATA_KEY!r} metadata)") from None
    if not isinstance(data, dict) or data.get("format_version") != FORMAT_VERSION:
        raise OnnxModelError(f"{path} has export format {data.get('format_version') if isinstance(data, dict) else None!r}; "
                             f"this code reads version {FORMAT_VERSION}")
    names = check_class_names(data.get("class_names"), OnnxModelError)
    window = data.get("window")
    if not isinstance(window, int) or not 1 <= window <= MAX_WINDOW:
        raise OnnxModelError(f"{path}: window must be an integer in 1..{MAX_WINDOW}, got {window!r}")
    try:
        norm = NormalizationConfig.from_dict(data.get("norm_config"))
    except (TypeError, ValueError, AttributeError) as exc:
        raise OnnxModelError(f"{path} has an invalid normalisation config: {str(exc)[:200]}") from None
    model_config = data.get("model_config")
    appearance_frames = model_config.get("appearance_frames", 0) if isinstance(model_config, dict) else 0
    if not isinstance(appearance_frames, int) or not 0 <= appearance_frames <= window:
        raise OnnxModelError(f"{path}: appearance_frames must be an integer in 0..{window}, got {appearance_frames!r}")
    return names, window, norm, appearance_frames
