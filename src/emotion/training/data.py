"""Training data: config sources -> one training and one validation WindowSet, class balance, model batches.

- A ``synth`` source is generated once by ``emotion.datasets.synth.generate_windows`` and cached as
  ``<cache_dir>/synth_n<count>_s<seed>_t<window>_<hash>.npz``; the hash covers the options and the
  generator's source code, so a changed generator is regenerated and reruns and resumes reuse the file.
- A ``photos`` source is a WindowSet of stills (``prepare --format photos|muxspace``). Its photos are split
  by group first; ``count`` training windows are made from the training photos
  (``emotion.datasets.photo_windows``, the expression offsets measured on those photos only, seeded by the
  source's ``seed``), and its validation is every validation photo once, held as a still (the window
  filled with the photo, as the component's buffer holds a face it has seen once).
- A ``windows`` source is a WindowSet ``.npz``. Longer windows keep their last ``window`` frames (the label
  describes the end); shorter ones are padded at the start by repeating their first frame, as the
  component's buffer does. Class names are matched by name, so a file may list them in any order.
- Validation is split per source by group (identity or video): a group is wholly in one set. A source with
  ``split = "train"`` or ``"val"`` goes wholly to that set.
- Balance: with ``balance = "sampler"`` every class is equally likely in each epoch's draws. Within a class,
  a source with a ``share`` for it gets that fraction of the class's draws; what is left goes to the other
  sources in proportion to weight x windows (no shares: the old rule, probability proportional to source
  weight). With ``"loss"`` classes are drawn in proportion to their weighted windows and the loss weights
  classes by inverse frequency; shares still split each class between sources.
- Validation is reported per source (``TrainData.val_parts``) and as a whole.
- Identities: the Neutral training photos of every ``photos`` source give the identity augmentation its
  offsets (``TrainData.identities``, ``emotion.training.augment.identity_offsets``); validation photos never.
- The training photos themselves, as stills, are kept for the geometry head's fit (``TrainData.photos``,
  ``emotion.training.geometry``).
"""

import hashlib
import inspect
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from emotion.classes import EMOTIONS
from emotion.datasets.windows import WindowSet
from emotion.features import FeatureConfig, make_features
from emotion.normalize import NormalizationConfig, normalize_landmarks
from emotion.training.augment import AugmentConfig, augment_batch, identity_offsets
from emotion.training.config import SourceConfig, TrainConfig


@dataclass
class TrainData:
    """The split data. ``sources`` (len(train),) index each training window's source in ``cfg.sources``;
    ``val_parts`` name each source's validation windows (boolean masks over ``val``)."""

    train: WindowSet
    val: WindowSet
    sources: np.ndarray
    summary: dict
    val_parts: dict[str, np.ndarray]
    identities: np.ndarray = field(default_factory=lambda: np.zeros((0, 68, 2), np.float32))
    """Shape (M, 68, 2): identity offsets of the training photos' neutral faces (empty without photos)."""
    photos: WindowSet | None = None
    """The training photos of every ``photos`` source, as stills (None without photos)."""


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
    return WindowSet(lm, ws.labels, ws.groups, ws.class_names, dict(ws.meta, fitted_from=t), ws.appearance)


def to_class_order(ws: WindowSet, class_names: tuple[str, ...] = EMOTIONS) -> WindowSet:
    """The same windows with labels re-indexed to ``class_names`` (matched case-insensitively)."""
    if ws.class_names == class_names:
        return ws
    lookup = {c.lower(): i for i, c in enumerate(class_names)}
    missing = [c for c in ws.class_names if c.lower() not in lookup]
    if missing:
        raise ValueError(f"window classes {missing} are not among the model's classes {list(class_names)}")
    remap = np.array([lookup[c.lower()] for c in ws.class_names], dtype=np.int64)
    return WindowSet(ws.landmarks, remap[ws.labels], ws.groups, class_names, ws.meta, ws.appearance)


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
        ws = None
        if path.is_file():
            try:
                ws = WindowSet.load(path)
            except ValueError as exc:                 # a kill while it was written (before atomic writes)
                print(f"synthetic cache: {exc}; generating it again", file=sys.stderr, flush=True)
        if ws is None:
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


def source_names(sources: tuple[SourceConfig, ...]) -> list[str]:
    """Short names for the sources in reports: ``synth``, ``photos:<file stem>`` ... (numbered when repeated)."""
    names = [src.kind + (f":{Path(src.path).stem}" if src.path else "") for src in sources]
    return [f"{name}#{i + 1}" if names.count(name) > 1 else name for i, name in enumerate(names)]


def _photo_split(src: SourceConfig, window: int, val_mask: np.ndarray, stills: WindowSet) -> tuple[WindowSet, WindowSet]:
    """A photos source's training windows (made from its training photos) and validation stills (held)."""
    from emotion.datasets.photo_windows import PhotoWindowConfig, class_offsets, photo_windows

    train_stills = stills.subset(~val_mask)
    rng = np.random.default_rng([src.seed, 11])
    made = photo_windows(train_stills, src.count, window, class_offsets(train_stills), rng,
                         PhotoWindowConfig.from_dict(src.options))
    return made, fit_window(stills.subset(val_mask), window)


def rest_faces(ws: WindowSet) -> np.ndarray:
    """The last frame of every Neutral window: faces at rest, whose differences are identity (the identity
    step of the augmentation, the heads' identity copies); none without a Neutral class.

    Shape: ws (N, T, 68, 2) -> (M, 68, 2).
    """
    if "Neutral" not in ws.class_names:
        return ws.landmarks[:0, -1]
    return ws.landmarks[ws.labels == ws.class_names.index("Neutral"), -1]


def build_data(cfg: TrainConfig, cache_dir: Path, progress: bool = True) -> TrainData:
    """Load every source, split each by group, and join them into training and validation sets."""
    rng = np.random.default_rng([cfg.seed, 7])
    trains, vals, sources, parts, neutral, photos = [], [], [], [], [], []
    names = source_names(cfg.sources)
    for i, src in enumerate(cfg.sources):
        ws = to_class_order(WindowSet.load(src.path)) if src.kind == "photos" else load_source(src, cfg.window, cache_dir, progress)
        if src.split == "auto":
            val_mask = split_by_group(ws.groups, cfg.split.val_fraction, rng)
        else:
            val_mask = np.full(len(ws), src.split == "val")
        # groups are prefixed by source so equal names from two sources stay apart
        ws = WindowSet(ws.landmarks, ws.labels, np.char.add(f"s{i}:", ws.groups), ws.class_names, ws.meta, ws.appearance)
        if src.kind == "photos":
            train, val = _photo_split(src, cfg.window, val_mask, ws)
            photos.append(ws.subset(~val_mask))
            if len(rest := rest_faces(photos[-1])):
                neutral.append(rest)
        else:
            train, val = ws.subset(~val_mask), ws.subset(val_mask)
        trains.append(train)
        vals.append(val)
        sources.append(np.full(len(train), i))
        parts.append({"name": names[i], "kind": src.kind, "path": str(src.path) if src.path else None,
                      "count": src.count, "seed": src.seed, "weight": src.weight, "share": src.share,
                      "split": src.split, "train": train.class_counts(), "val": val.class_counts(),
                      "train_groups": int(len(np.unique(train.groups))), "val_groups": int(len(np.unique(val.groups)))})
    train, val = WindowSet.concatenate(trains), WindowSet.concatenate(vals)
    if len(train) == 0:
        raise ValueError("no training windows: every source went to validation or is empty")
    if len(val) == 0:
        raise ValueError("no validation windows: give a source more than one group or add a split = 'val' source")
    owner = np.concatenate([np.full(len(v), i) for i, v in enumerate(vals)])
    val_parts = {name: owner == i for i, name in enumerate(names) if len(vals[i])}
    summary = {"sources": parts, "train_windows": len(train), "val_windows": len(val),
               "train_classes": train.class_counts(), "val_classes": val.class_counts()}
    data = TrainData(train, val, np.concatenate(sources), summary, val_parts,
                     photos=WindowSet.concatenate(photos) if photos else None)
    if neutral:
        data.identities = identity_offsets(np.concatenate(neutral))
    summary["identities"] = len(data.identities)
    return data


def share_table(cfg: TrainConfig, class_names: tuple[str, ...] = EMOTIONS) -> np.ndarray:
    """Each source's fixed share of each class's draws, NaN where it has none. Shape: -> (S, C)."""
    table = np.full((len(cfg.sources), len(class_names)), np.nan)
    for s, src in enumerate(cfg.sources):
        for c, name in enumerate(class_names):
            if src.share and name in src.share:
                table[s, c] = src.share[name]
    return table


def sampling_probabilities(labels: np.ndarray, weights: np.ndarray, num_classes: int, balance: bool,
                           sources: np.ndarray | None = None, shares: np.ndarray | None = None) -> np.ndarray:
    """Per-window draw probabilities (module docstring, "Balance").

    Shape: labels (N,), weights (N,) source weight per window, sources (N,) source index per window,
    shares (S, C) fixed shares with NaN for none -> (N,) summing to 1.
    """
    w = np.asarray(weights, dtype=np.float64)
    labels = np.asarray(labels)
    sources = np.zeros(len(labels), np.int64) if sources is None else np.asarray(sources)
    n_sources = int(sources.max()) + 1 if len(sources) else 1
    shares = np.full((n_sources, num_classes), np.nan) if shares is None else np.asarray(shares, np.float64)
    # mass of each (source, class): weight x windows, then fixed shares replace it where given
    mass = np.zeros((n_sources, num_classes))
    np.add.at(mass, (sources, labels), w)
    class_mass = np.full(num_classes, 1.0) if balance else mass.sum(0)
    within = np.zeros_like(mass)
    for c in range(num_classes):
        have = mass[:, c] > 0
        if not have.any():
            continue
        fixed = have & np.isfinite(shares[:, c])
        free = have & ~fixed
        fixed_total = shares[fixed, c].sum()
        if free.any() and fixed_total < 1.0:
            within[free, c] = (1.0 - fixed_total) * mass[free, c] / mass[free, c].sum()
            within[fixed, c] = shares[fixed, c]
        elif fixed_total > 0:
            within[fixed, c] = shares[fixed, c] / fixed_total
        else:
            within[free, c] = mass[free, c] / mass[free, c].sum()
    p = class_mass[labels] * within[sources, labels] * w / mass[sources, labels]
    return p / p.sum()


def class_loss_weights(labels: np.ndarray, num_classes: int) -> torch.Tensor:
    """Inverse-frequency class weights with mean 1 over present classes (absent classes get 0).

    Shape: labels (N,) -> (num_classes,).
    """
    counts = np.bincount(labels, minlength=num_classes).astype(np.float64)
    w = np.divide(1.0, counts, out=np.zeros(num_classes), where=counts > 0)
    return torch.tensor(w / w[counts > 0].mean(), dtype=torch.float32)


def make_batch(landmarks: np.ndarray, norm: NormalizationConfig, features: FeatureConfig,
               augment: AugmentConfig | None = None, rng: np.random.Generator | None = None,
               identities: np.ndarray | None = None) -> torch.Tensor:
    """Pixel windows -> (augmented, ``identities`` for its identity step) -> normalised -> model input,
    the same path as inference.

    Shape: landmarks (N, T, 68, 2) pixels, identities (M, 68, 2) -> float32 tensor (N, C, T, 68).
    """
    x = np.asarray(landmarks, dtype=np.float32)
    if augment is not None:
        if rng is None:
            raise ValueError("augmentation needs a random generator")
        x = augment_batch(x, augment, rng, identities)
    return make_features(normalize_landmarks(x, norm), features)
