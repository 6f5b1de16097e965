"""Training data: config sources -> one training and one validation WindowSet, class balance, model batches.

- A ``synth`` source is generated once by ``emotion.datasets.synth.generate_windows`` and cached as
  ``<cache_dir>/synth_n<count>_s<seed>_t<window>_<hash>.npz``; the hash covers the options and the
  generator's source code, so a changed generator is regenerated and reruns and resumes reuse the file.
- A ``windows`` source is a WindowSet ``.npz``. Longer windows keep their last ``window`` frames (the label
  describes the end); shorter ones are padded at the start by repeating their first frame, as the
  component's buffer does. Class names are matched by name, so a file may list them in any order.
- Validation is split per source by group (identity or video): a group is wholly in one set. A source with
  ``split = "train"`` or ``"val"`` goes wholly to that set.
- Balance: with ``balance = "sampler"`` each epoch draws windows with probability proportional to their
  source weight divided by the total weight of their class, so every class is equally likely and, within a
  class, sources keep their relative weights. With ``"loss"`` windows are drawn by source weight and the
  loss weights classes by inverse frequency.
"""

import hashlib
import inspect
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from emotion.classes import EMOTIONS
from emotion.datasets.windows import WindowSet
from emotion.features import FeatureConfig, make_features
from emotion.normalize import NormalizationConfig, normalize_landmarks
from emotion.training.augment import AugmentConfig, augment_batch
from emotion.training.config import SourceConfig, TrainConfig


@dataclass
class TrainData:
    """The split data. ``weights`` (len(train),) are the training windows' source weights."""

    train: WindowSet
    val: WindowSet
    weights: np.ndarray
    summary: dict


def fit_window(ws: WindowSet, window: int) -> WindowSet:
    """Windows cut or start-padded to ``window`` frames, the end frame kept.

    Shape: landmarks (N, T, 68, 2) -> (N, window, 68, 2).
    """
    t = ws.window
    if t == window:
        return ws
    if t > window:
        lm = ws.landmarks[:, t - window:]
    else:
        lm = np.concatenate([np.repeat(ws.landmarks[:, :1], window - t, axis=1), ws.landmarks], axis=1)
    return WindowSet(lm, ws.labels, ws.groups, ws.class_names, dict(ws.meta, fitted_from=t))


def to_class_order(ws: WindowSet, class_names: tuple[str, ...] = EMOTIONS) -> WindowSet:
    """The same windows with labels re-indexed to ``class_names`` (matched case-insensitively)."""
    if ws.class_names == class_names:
        return ws
    lookup = {c.lower(): i for i, c in enumerate(class_names)}
    missing = [c for c in ws.class_names if c.lower() not in lookup]
    if missing:
        raise ValueError(f"window classes {missing} are not among the model's classes {list(class_names)}")
    remap = np.array([lookup[c.lower()] for c in ws.class_names], dtype=np.int64)
    return WindowSet(ws.landmarks, remap[ws.labels], ws.groups, class_names, ws.meta)


def synth_cache_path(src: SourceConfig, window: int, cache_dir: Path) -> Path:
    """Where a synth source is cached (see the module docstring for the key)."""
    from emotion.datasets import synth

    key = json.dumps({"options": src.options, "code": inspect.getsource(synth)}, sort_keys=True)
    digest = hashlib.sha1(key.encode()).hexdigest()[:10]
    return Path(cache_dir) / f"synth_n{src.count}_s{src.seed}_t{window}_{digest}.npz"


def load_source(src: SourceConfig, window: int, cache_dir: Path, progress: bool = True) -> WindowSet:
    """One source's windows in EMOTIONS order, ``window`` frames long (synth: generated or from cache)."""
    if src.kind == "synth":
        from emotion.datasets.synth import SynthConfig, generate_windows

        path = synth_cache_path(src, window, cache_dir)
        if path.is_file():
            ws = WindowSet.load(path)
        else:
            try:
                synth_cfg = SynthConfig(**src.options)
            except TypeError as exc:
                raise ValueError(f"bad synth options {src.options}: {exc}") from None
            generate_windows(src.count, seed=src.seed, config=synth_cfg, window=window, progress=progress).save(path)
            ws = WindowSet.load(path)  # the float16 copy on disk, so a rerun or resume sees identical data
    else:
        ws = WindowSet.load(src.path)
    return to_class_order(fit_window(ws, window))


def split_by_group(groups: np.ndarray, val_fraction: float, rng: np.random.Generator) -> np.ndarray:
    """Boolean validation mask: about ``val_fraction`` of the distinct groups, at least one, never all
    (a single group goes to training).

    Shape: groups (N,) -> (N,) bool.
    """
    names = np.unique(groups)
    if len(names) < 2:
        return np.zeros(len(groups), dtype=bool)
    n_val = int(np.clip(round(val_fraction * len(names)), 1, len(names) - 1))
    val_names = rng.choice(names, size=n_val, replace=False)
    return np.isin(groups, val_names)


def build_data(cfg: TrainConfig, cache_dir: Path, progress: bool = True) -> TrainData:
    """Load every source, split each by group, and join them into training and validation sets."""
    rng = np.random.default_rng([cfg.seed, 7])
    trains, vals, weights, parts = [], [], [], []
    for i, src in enumerate(cfg.sources):
        ws = load_source(src, cfg.window, cache_dir, progress)
        if src.split == "auto":
            val_mask = split_by_group(ws.groups, cfg.split.val_fraction, rng)
        else:
            val_mask = np.full(len(ws), src.split == "val")
        # groups are prefixed by source so equal names from two sources stay apart
        ws = WindowSet(ws.landmarks, ws.labels, np.char.add(f"s{i}:", ws.groups), ws.class_names, ws.meta)
        train, val = ws.subset(~val_mask), ws.subset(val_mask)
        trains.append(train)
        vals.append(val)
        weights.append(np.full(len(train), src.weight))
        parts.append({"kind": src.kind, "path": str(src.path) if src.path else None, "count": src.count,
                      "seed": src.seed, "weight": src.weight, "split": src.split,
                      "train": train.class_counts(), "val": val.class_counts(),
                      "train_groups": int(len(np.unique(train.groups))), "val_groups": int(len(np.unique(val.groups)))})
    train, val = WindowSet.concatenate(trains), WindowSet.concatenate(vals)
    if len(train) == 0:
        raise ValueError("no training windows: every source went to validation or is empty")
    if len(val) == 0:
        raise ValueError("no validation windows: give a source more than one group or add a split = 'val' source")
    summary = {"sources": parts, "train_windows": len(train), "val_windows": len(val),
               "train_classes": train.class_counts(), "val_classes": val.class_counts()}
    return TrainData(train, val, np.concatenate(weights), summary)


def sampling_probabilities(labels: np.ndarray, weights: np.ndarray, num_classes: int, balance: bool) -> np.ndarray:
    """Per-window draw probabilities: source weight, divided by its class's total weight when balancing.

    Shape: labels (N,), weights (N,) -> (N,) summing to 1.
    """
    w = np.asarray(weights, dtype=np.float64)
    if balance:
        class_total = np.bincount(labels, weights=w, minlength=num_classes)
        w = w / class_total[labels]
    return w / w.sum()


def class_loss_weights(labels: np.ndarray, num_classes: int) -> torch.Tensor:
    """Inverse-frequency class weights with mean 1 over present classes (absent classes get 0).

    Shape: labels (N,) -> (num_classes,).
    """
    counts = np.bincount(labels, minlength=num_classes).astype(np.float64)
    w = np.divide(1.0, counts, out=np.zeros(num_classes), where=counts > 0)
    return torch.tensor(w / w[counts > 0].mean(), dtype=torch.float32)


def make_batch(landmarks: np.ndarray, norm: NormalizationConfig, features: FeatureConfig,
               augment: AugmentConfig | None = None, rng: np.random.Generator | None = None) -> torch.Tensor:
    """Pixel windows -> (augmented) -> normalised -> model input, the same path as inference.

    Shape: landmarks (N, T, 68, 2) pixels -> float32 tensor (N, C, T, 68).
    """
    x = np.asarray(landmarks, dtype=np.float32)
    if augment is not None:
        if rng is None:
            raise ValueError("augmentation needs a random generator")
        x = augment_batch(x, augment, rng)
    return make_features(normalize_landmarks(x, norm), features)
