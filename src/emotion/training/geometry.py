"""The geometry head's fit (``emotion.models.stgcn``): after the network is trained, a class-balanced,
L2-regularised linear classifier of the face's normalised shape at the end of each training window,
whose logits are then added to the network's.

Its data are the real training photos held still, which get ``photos_share`` of the fit's weight, and
the last frames of the other sources' training windows (synthetic faces), which get the rest, each with
its mirror image; classes are balanced within each part. Each photo also enters ``identity_copies`` more
times moved onto another training person's resting face shape (``with_identity_copies``), so that the few
people of a rare class (about 150-300 training photos each of Sad, Anger and Surprise) do not lend it their
resting traits (high brows, low mouth corners), which a new person's resting face would then show
(``weights/MODEL_CARD.md``, "Identity copies"). Mirroring both keeps the head left-right symmetric, as
the network is (trained with mirrored windows): the synthetic expressions shift the brows and mouth
sideways a little, which a head fitted on them unmirrored learns as a cue that real faces do not have
(``weights/MODEL_CARD.md``, "Mirror symmetry"). Fitted on real photos only, the head reads faces of new
people better but misreads the synthetic faces' geometry (their resting faces look Sad to it); a small
synthetic share keeps it right on both.

It is fitted on its own, not on the network's residual: the network has been fitted to the same photos,
so its errors there say little about new people; the two experts fitted apart and summed are what the
validation figures support (``weights/MODEL_CARD.md``). The features are standardised for the fit and
the scaling is folded back into the weights, so the head reads the model input as it is.

A model with an appearance head (``emotion.models.stgcn``) has it fitted in the same regression, on the
photos' appearance descriptors (``emotion.appearance``; a mirrored photo's is the permuted descriptor),
with its own L2 weight (``appearance_l2``: 6 084 texture values need more restraint than 136 shape
values). The synthetic windows have no appearance; they enter with a standardised appearance of zero, which
is what the head reads as "none seen", so the shape weights stay right for faces read from landmarks alone.
The fit also sets the model's ``network_weight`` (``network_weight`` of the config): how much the network's
logits count beside the two heads where a descriptor is seen.
"""

import dataclasses
from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F

from emotion.appearance import mirror_descriptor
from emotion.datasets.windows import WindowSet
from emotion.features import FeatureConfig
from emotion.models.deploy import has_appearance
from emotion.normalize import NormalizationConfig
from emotion.training.augment import add_identity, identity_offsets, mirror
from emotion.training.config import GeometryConfig
from emotion.training.data import class_loss_weights, make_batch, rest_faces

MIN_STD: float = 1e-6
"""Features with less spread than this are left unscaled (a landmark fixed by the normalisation)."""


def shape_inputs(model: torch.nn.Module, windows: np.ndarray, norm: NormalizationConfig,
                 features: FeatureConfig) -> torch.Tensor:
    """The head's input for each window: the mean shape of its last ``model.geometry_frames`` frames.

    Shape: windows (N, T, 68, 2) pixels, T >= 1 (a still is held: its one frame repeated) -> (N, 2 * 68).
    """
    frames = np.asarray(windows, dtype=np.float32)[:, -model.geometry_frames:]
    if frames.shape[1] < model.geometry_frames:
        missing = model.geometry_frames - frames.shape[1]
        frames = np.concatenate([np.repeat(frames[:, :1], missing, axis=1), frames], axis=1)
    return model.geometry_input(make_batch(frames, norm, features))


def balanced_weights(labels: np.ndarray, num_classes: int, total: float) -> torch.Tensor:
    """Per-sample weights summing to ``total``, every class present with the same sum."""
    weights = class_loss_weights(labels, num_classes).numpy()[labels]
    return torch.from_numpy(weights * (total / weights.sum())).float()


def fit_logistic(z: torch.Tensor, y: torch.Tensor, sample_weight: torch.Tensor, penalty: torch.Tensor,
                 num_classes: int, max_iter: int) -> torch.nn.Linear:
    """A weighted multinomial logistic regression by L-BFGS: the sum of ``sample_weight`` times each
    sample's cross-entropy plus ``penalty`` times each input's squared weights (the bias is free).

    Shape: z (N, D), y (N,) int64, sample_weight (N,), penalty (D,) -> Linear(D, num_classes).
    """
    linear = torch.nn.Linear(z.shape[1], num_classes)
    torch.nn.init.zeros_(linear.weight)
    torch.nn.init.zeros_(linear.bias)
    optimizer = torch.optim.LBFGS(linear.parameters(), max_iter=max_iter, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        fit = (F.cross_entropy(linear(z), y, reduction="none") * sample_weight).sum()
        loss = fit + (linear.weight.pow(2) * penalty).sum()
        loss.backward()
        return loss

    with torch.enable_grad():
        optimizer.step(closure)
    return linear


def photo_rows(photos: WindowSet, shape_of: Callable[[np.ndarray], np.ndarray], mirrored: bool,
               appearance: bool) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
    """The still heads' rows for real photos, as ``fit_geometry_head`` and ``bench heads`` fit them: each
    photo's shape (``shape_of`` applied to its one-frame window) and, with ``appearance``, its descriptor; with
    ``mirrored``, every photo's mirror image after all the photos (a mirrored descriptor is a permutation).

    Shape: photos (N, T, 68, 2) -> shapes (M, D), appearance (M, DESCRIPTOR_SIZE) or None, labels (M,);
    M = 2N when mirrored, else N.
    """
    stills, labels = np.asarray(photos.landmarks[:, -1:], np.float32), np.asarray(photos.labels, np.int64)
    looks = None
    if appearance:
        if photos.appearance is None:
            raise ValueError("the photos have no appearance descriptors (prepare them again with this version)")
        looks = photos.appearance.astype(np.float32)
    if mirrored:
        stills, labels = np.concatenate([stills, mirror(stills)]), np.concatenate([labels, labels])
        looks = None if looks is None else np.concatenate([looks, mirror_descriptor(looks)])
    return np.asarray(shape_of(stills), np.float32), looks, labels


def with_identity_copies(photos: WindowSet, copies: int, scale: float, rng: np.random.Generator) -> WindowSet:
    """The photos, then ``copies`` more of each moved onto another person's face shape: ``scale`` times the
    offset of a Neutral photo among them from their mean shape (the identity step of the augmentation,
    ``emotion.training.augment``), turned into the photo's own frame. A copy keeps its photo's label, group
    and appearance. Without two Neutral photos there is no other face shape to move to: the photos alone.

    Shape: photos (N, T, 68, 2) -> WindowSet ((1 + copies) N, T, 68, 2).
    """
    rest = rest_faces(photos)
    if copies == 0 or len(rest) < 2:
        return photos
    offsets = identity_offsets(rest)
    moved = [add_identity(photos.landmarks, scale * offsets[rng.integers(0, len(offsets), len(photos))])
             for _ in range(copies)]
    again = np.tile(np.arange(len(photos)), 1 + copies)
    return WindowSet(np.concatenate([photos.landmarks, *moved]), photos.labels[again], photos.groups[again],
                     photos.class_names, dict(photos.meta),
                     None if photos.appearance is None else photos.appearance[again])


def standardise(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and spread of each column (spread 1 where there is none)."""
    mean, std = x.mean(dim=0), x.std(dim=0)
    return mean, torch.where(std > MIN_STD, std, torch.ones_like(std))


def fit_geometry_head(model: torch.nn.Module, photos: WindowSet, others: WindowSet, norm: NormalizationConfig,
                      features: FeatureConfig, config: GeometryConfig = GeometryConfig(), seed: int = 0) -> dict:
    """Fit ``model.geometry`` in place on real ``photos`` (stills) and ``others`` (training windows of the
    other sources; may be empty), classes in the model's order; with ``model.appearance``, fit it in the
    same logistic regression on the photos' appearance descriptors (the others have none: their
    standardised appearance is zero, which the head reads as nothing). ``seed`` draws the identity copies.
    Returns a summary for the checkpoint.
    """
    if getattr(model, "geometry", None) is None:
        raise ValueError("the model has no geometry head (model config geometry_frames = 0)")
    if len(photos) == 0:
        raise ValueError("no real photos to fit the geometry head on (it needs a photos source)")
    with_appearance = has_appearance(model)
    num_classes = model.geometry.out_features
    copied = with_identity_copies(photos, config.identity_copies, config.identity_scale,
                                  np.random.default_rng([seed, 13]))
    shapes, seen, labels = photo_rows(copied, lambda stills: shape_inputs(model, stills, norm, features).numpy(),
                                      config.mirror, with_appearance)
    share = config.photos_share if len(others) else 1.0
    parts = [(torch.from_numpy(shapes), labels, share)]
    if len(others):
        windows, other_labels = np.asarray(others.landmarks, np.float32), np.asarray(others.labels, np.int64)
        if config.mirror:
            windows, other_labels = np.concatenate([windows, mirror(windows)]), np.concatenate([other_labels] * 2)
        parts.append((shape_inputs(model, windows, norm, features), other_labels, 1.0 - share))
    x = torch.cat([p[0] for p in parts])
    y = torch.from_numpy(np.concatenate([p[1] for p in parts]))
    sample_weight = torch.cat([balanced_weights(p[1], num_classes, p[2]) for p in parts])
    mean, std = standardise(x)
    z = (x - mean) / std
    n_photos, shape_size = len(parts[0][1]), z.shape[1]
    penalty = torch.full((shape_size,), config.l2)
    if with_appearance:
        seen = torch.from_numpy(seen)
        seen_mean, seen_std = standardise(seen)
        looks = torch.zeros(len(z), seen.shape[1])
        looks[:n_photos] = (seen - seen_mean) / seen_std
        z = torch.cat([z, looks], dim=1)
        penalty = torch.cat([penalty, torch.full((seen.shape[1],), config.appearance_l2)])
    linear = fit_logistic(z, y, sample_weight, penalty, num_classes, config.max_iter)
    with torch.no_grad():
        predicted = linear(z).argmax(1)
        shape_weight = linear.weight[:, :shape_size] / std
        model.geometry.weight.copy_(shape_weight)
        model.geometry.bias.copy_(linear.bias - shape_weight @ mean)
        if with_appearance:
            seen_weight = linear.weight[:, shape_size:] / seen_std
            model.appearance.weight.copy_(seen_weight)
            model.appearance.bias.copy_(-(seen_weight @ seen_mean))
            model.network_weight.fill_(config.network_weight)
    right = (predicted == y).float()
    return {"photos": len(photos), "identity_copies": len(copied) // len(photos) - 1,
            "other_windows": len(others), "photos_share": share,
            "appearance": with_appearance,
            "photo_accuracy": round(float(right[:n_photos].mean()), 4),
            "other_accuracy": round(float(right[n_photos:].mean()), 4) if len(others) else None,
            "config": dataclasses.asdict(config)}
