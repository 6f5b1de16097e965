"""Model checkpoints: weights plus everything needed to use them (configs, class names, graph), versioned.

A checkpoint is one ``torch.save`` file holding only plain dicts, lists, numbers, strings and tensors, so
it loads with ``torch.load(weights_only=True)`` (no pickled code runs). ``load_checkpoint`` refuses,
with a ``CheckpointError`` that says why, a file that is missing, unreadable, of another format version,
made for another face graph or class list, or whose weights do not fit its model config.
"""

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from emotion.appearance import DESCRIPTOR_SIZE
from emotion.atomic import write_atomic
from emotion.classes import check_class_names
from emotion.features import FeatureConfig
from emotion.graph import FaceGraph
from emotion.models import ModelConfig, build_model
from emotion.normalize import NormalizationConfig

FORMAT_VERSION: int = 1
_KEYS = ("format_version", "state_dict", "model_config", "feature_config", "norm_config", "class_names",
         "graph", "extra")


class CheckpointError(ValueError):
    """A checkpoint file that cannot be used; the message says why."""


@dataclass
class Checkpoint:
    """A loaded checkpoint: ``model`` is built, has its weights and is in eval mode."""

    model: nn.Module
    model_config: ModelConfig
    feature_config: FeatureConfig
    norm_config: NormalizationConfig
    class_names: tuple[str, ...]
    extra: dict = field(default_factory=dict)
    format_version: int = FORMAT_VERSION

    @property
    def window(self) -> int:
        """Frames per input window (T)."""
        return self.model_config.window


def save_checkpoint(path: str | Path, model: nn.Module, model_config: ModelConfig, feature_config: FeatureConfig,
                    norm_config: NormalizationConfig, class_names: Sequence[str], extra: dict | None = None) -> Path:
    """Write ``model``'s weights with its configs; the file is replaced atomically.

    ``extra`` (metrics, training config, data description) must be JSON-like: dicts, lists, numbers, strings.
    Raises ValueError if the weights do not fit ``build_model(model_config, ...)`` or ``extra`` is not plain.
    """
    class_names = check_class_names(class_names, ValueError)
    extra = dict(extra or {})
    try:
        json.dumps(extra)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"extra must hold only dicts, lists, numbers and strings (JSON-like): {exc}") from exc
    state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
    try:
        build_model(model_config, feature_config.channels, len(class_names)).load_state_dict(state)
    except RuntimeError as exc:
        raise ValueError(f"the model does not match its model config: {_first_lines(exc)}") from exc
    payload = {
        "format_version": FORMAT_VERSION,
        "state_dict": state,
        "model_config": model_config.to_dict(),
        "feature_config": feature_config.to_dict(),
        "norm_config": norm_config.to_dict(),
        "class_names": list(class_names),
        "graph": FaceGraph().to_dict(),
        "extra": extra,
    }
    path = Path(path)
    with write_atomic(path) as tmp:
        torch.save(payload, tmp)
    return path


def load_checkpoint(path: str | Path, class_names: Sequence[str] | None = None) -> Checkpoint:
    """Read, check and build a checkpoint on the CPU.

    ``class_names``, if given, must equal the checkpoint's (same names, same order).
    Raises CheckpointError for a missing, corrupt or mismatched file.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"no checkpoint at {path} (train one with `python -m emotion train`)")
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types (UnpicklingError, RuntimeError, EOFError, ...)
        raise CheckpointError(f"{path} is not a readable checkpoint (corrupt, truncated or not a torch file; "
                              f"torch.load: {type(exc).__name__})") from exc
    if not isinstance(data, dict) or any(k not in data for k in _KEYS):
        missing = [k for k in _KEYS if not isinstance(data, dict) or k not in data]
        raise CheckpointError(f"{path} is not an emotion checkpoint: missing {missing}")
    if data["format_version"] != FORMAT_VERSION:
        raise CheckpointError(f"{path} has checkpoint format version {data['format_version']!r}; "
                              f"this code reads version {FORMAT_VERSION}")
    try:
        model_config = ModelConfig.from_dict(data["model_config"])
        feature_config = FeatureConfig.from_dict(data["feature_config"])
        norm_config = NormalizationConfig.from_dict(data["norm_config"])
    except (TypeError, ValueError, AttributeError) as exc:  # sizes are checked here, before build_model
        raise CheckpointError(f"{path} has an invalid config: {str(exc)[:300]}") from exc
    names = check_class_names(data["class_names"], CheckpointError)
    if class_names is not None and tuple(class_names) != names:
        raise CheckpointError(f"{path} predicts classes {list(names)}, expected {list(class_names)}")
    _check_graph(path, data["graph"])
    model = build_model(model_config, feature_config.channels, len(names))
    _check_descriptor(path, data["state_dict"])
    state = _with_network_weight(model, data["state_dict"])
    try:
        model.load_state_dict(state)
    except (RuntimeError, TypeError, AttributeError) as exc:
        raise CheckpointError(f"{path}: weights do not match its model config: {_first_lines(exc)}") from exc
    return Checkpoint(model.eval(), model_config, feature_config, norm_config, names, dict(data["extra"]),
                      data["format_version"])


def _check_descriptor(path: Path, state: object) -> None:
    """An appearance head must read descriptors of this version's length (``emotion.appearance``)."""
    weight = state.get("appearance.weight") if isinstance(state, dict) else None
    if isinstance(weight, torch.Tensor) and weight.ndim == 2 and weight.shape[1] != DESCRIPTOR_SIZE:
        raise CheckpointError(f"{path} has an appearance head for {weight.shape[1]}-value descriptors; this version "
                              f"computes {DESCRIPTOR_SIZE} (emotion.appearance): train it again with this version")


def _with_network_weight(model: nn.Module, state: object) -> object:
    """The weights, with ``network_weight`` 1 where a model with an appearance head was saved before it
    existed (2026-12-04): those heads were fitted and validated beside the network at full weight."""
    if isinstance(state, dict) and hasattr(model, "network_weight") and "network_weight" not in state:
        return {**state, "network_weight": torch.tensor(1.0)}
    return state


def _check_graph(path: Path, stored: object) -> None:
    """The partitioned adjacency depends only on the node count, the centre and the edge set."""
    current = FaceGraph().to_dict()
    if not isinstance(stored, dict) or not isinstance(stored.get("edges"), list):
        raise CheckpointError(f"{path} has no valid graph description")
    try:
        edges_then = {frozenset(map(int, e)) for e in stored["edges"]}
    except (TypeError, ValueError) as exc:
        raise CheckpointError(f"{path} has no valid graph description: {exc}") from exc
    edges_now = {frozenset(e) for e in current["edges"]}
    if (stored.get("num_nodes"), stored.get("center"), edges_then) != (current["num_nodes"], current["center"], edges_now):
        raise CheckpointError(
            f"{path} was trained on a different face graph (nodes {stored.get('num_nodes')} vs {current['num_nodes']}, "
            f"centre {stored.get('center')} vs {current['center']}, {len(edges_then - edges_now)} edges removed "
            f"since, {len(edges_now - edges_then)} added); retrain it")


def _first_lines(exc: BaseException, n: int = 3) -> str:
    return " ".join(str(exc).strip().splitlines()[:n])
