"""Synthetic labelled 68-landmark sequences from the Surrey Face Model (SFM) and its expression blendshapes.

Each window is one synthetic person (random identity) filmed by a virtual 640x480 camera while an
expression runs its course (held, onset, emotion-to-emotion transition, partial or full offset), with
head pose and drift, talking-like jaw motion, blinks, small disgust/fear blends and dlib-like jitter.
Resting mouths vary more than the SFM's identity space allows (scale, height, corner lift). Beyond the
SFM's blendshapes, action units that real faces add to them: eyes narrowed by the cheeks in a
Duchenne smile (AU6), by lid tightening in anger (AU7) and squeezed in crying; crying's stretched lips
(AU20, the fear blendshape), raised upper lip (AU10, disgust), knit brows (AU4, a little anger) and
pressed lips (AU24), so that a sobbing face is Sad, not a wide-mouthed smile.

Label (the face at the END of the window): each target emotion's intensity is its blendshape weight
divided by that emotion's natural maximum (``SynthConfig.max_weight``). At the last frame, the strongest
target emotion is the label if its intensity is at least ``label_threshold``; otherwise the label is
Neutral. Scenarios are drawn so that an emotional window ends at ``>= label_threshold`` and a Neutral one
ends at ``<= neutral_ceiling`` (the ambiguous band in between is never produced). See docs/synth.md.

Only the model rows that are needed are evaluated (66 mapped landmarks + jaw-contour candidates), in
vectorised numpy, chunk by chunk.
"""

from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
from tqdm import tqdm

from emotion.classes import EMOTIONS, class_index
from emotion.datasets.sfm import SurreyFaceModel, load_sfm
from emotion.datasets.windows import WindowSet
from emotion.defaults import WINDOW
from emotion.face68 import MIRROR, PARTS
from emotion.normalize import normalize_landmarks

TARGETS: dict[str, str] = {"Happy": "happiness", "Sad": "sadness", "Anger": "anger", "Surprise": "surprise"}
"""Emotion class -> SFM blendshape. Neutral has none."""
DISTRACTORS: tuple[str, ...] = ("disgust", "fear")

# iBUG landmarks (0-based) the generator builds itself, everything else is a mapped SFM vertex.
RIGHT_JAW, LEFT_JAW, CHIN = tuple(range(0, 8)), tuple(range(16, 8, -1)), 8
INNER_CORNERS = {60: (48, 61, 67), 64: (54, 63, 65)}  # inner corner <- outer corner, inner lip neighbours
UPPER_LIDS = {37: 41, 38: 40, 43: 47, 44: 46}          # upper lid point -> lower lid point below it
PRESSED_PAIRS = ((61, 67), (62, 66), (63, 65))         # inner upper lip point, inner lower lip point below it
LOWER_JAW = (5, 6, 7, 8, 9, 10, 11) + tuple(range(55, 60)) + (65, 66, 67)  # move fully with the jaw
MOUTH_CORNERS = (48, 54, 60, 64)                                          # move half
JAW_HINGE_MM = np.array([0.0, 5.0, -90.0])  # temporo-mandibular axis (x) in model coordinates

# Fractional position of dlib jaw points 1..8 along the 17-vertex SFM contour (0 = temple, 16 = chin
# side), chosen so the synthetic frontal neutral jaw matches dlib's on real faces (docs/synth.md).
JAW_LEVELS: tuple[float, ...] = (2.1, 4.4, 6.5, 8.5, 10.1, 11.9, 13.3, 14.4)

# Per-landmark correction (x, y) in normalised inter-ocular units, added before pose so that the
# synthetic layout matches dlib's annotation convention; measured by `python -m emotion synth --calibrate`.
LAYOUT_OFFSET: np.ndarray = np.array([
    [+0.000, -0.001], [+0.000, +0.000], [+0.000, +0.000], [+0.000, +0.000],
    [+0.000, +0.000], [+0.030, +0.000], [+0.066, +0.000], [+0.156, +0.000],
    [+0.000, +0.000], [-0.156, +0.000], [-0.066, +0.000], [-0.030, +0.000],
    [+0.000, +0.000], [+0.000, +0.000], [+0.000, +0.000], [+0.000, +0.000],
    [+0.000, -0.001], [-0.008, -0.054], [+0.000, -0.071], [+0.000, -0.042],
    [+0.023, -0.017], [+0.000, -0.008], [+0.000, -0.008], [-0.023, -0.017],
    [+0.000, -0.042], [+0.000, -0.071], [+0.008, -0.054], [+0.000, +0.024],
    [+0.000, +0.000], [+0.000, +0.000], [+0.000, +0.000], [-0.022, +0.000],
    [-0.000, +0.000], [+0.000, +0.000], [+0.000, +0.000], [+0.022, +0.000],
    [+0.025, +0.005], [-0.002, +0.000], [-0.010, +0.005], [-0.003, +0.000],
    [+0.023, -0.011], [-0.015, +0.000], [+0.003, +0.000], [+0.010, +0.005],
    [+0.002, +0.000], [-0.025, +0.005], [+0.015, +0.000], [-0.023, -0.011],
    [+0.000, +0.000], [+0.047, +0.000], [+0.000, +0.000], [+0.000, +0.000],
    [+0.000, +0.000], [-0.047, +0.000], [+0.000, +0.000], [-0.027, +0.000],
    [-0.033, +0.000], [+0.000, +0.000], [+0.033, +0.000], [+0.027, +0.000],
    [+0.001, +0.000], [+0.100, +0.000], [+0.000, +0.000], [-0.100, +0.000],
    [-0.001, +0.000], [-0.102, +0.000], [+0.000, +0.000], [+0.102, +0.000],
])


@dataclass(frozen=True)
class SynthConfig:
    """Every randomisation range of the generator (angles in degrees, lengths in millimetres unless said)."""

    image_size: tuple[int, int] = (640, 480)
    fps: float = 30.0
    windows_per_identity: int = 4
    identity_sigma: float = 1.0                     # std of PCA coefficients, in units of sqrt(eigenvalue)
    # resting mouth shapes beyond the SFM's identity space (real people's mouths differ about twice as
    # much as SFM identities'): per window, scale about the mouth centre (+-x, +-y), vertical shift and
    # corner lift (std), in inter-ocular units
    mouth_scale: tuple[float, float] = (0.12, 0.15)
    mouth_shift: float = 0.04
    corner_lift: float = 0.025
    # blendshape weight of each expression at full natural strength (matched to the real clips' smiles,
    # brow raises and openings; SFM sadness and anger are subtle at 1.0, see docs/synth.md)
    max_weight: dict[str, float] = field(default_factory=lambda: {
        "happiness": 1.4, "sadness": 1.6, "anger": 1.6, "surprise": 1.0, "disgust": 1.0, "fear": 1.0})
    intensity: tuple[float, float] = (0.4, 1.0)     # apex intensity of an emotional window (x max_weight)
    label_threshold: float = 0.35                   # end intensity at or above which a window is emotional
    neutral_ceiling: float = 0.12                   # end intensity at or below which a window is Neutral
    emotion_scenarios: dict[str, float] = field(default_factory=lambda: {
        "held": 0.35, "onset": 0.3, "transition": 0.2, "partial_offset": 0.15})
    neutral_scenarios: dict[str, float] = field(default_factory=lambda: {
        "calm": 0.35, "offset": 0.3, "weak": 0.15, "distractor": 0.2})
    ramp_frames: tuple[int, int] = (4, 18)          # onset/offset duration
    distractor_prob: float = 0.3                    # chance of a small disgust/fear blend in any window
    distractor_weight: tuple[float, float] = (0.05, 0.25)
    distractor_neutral_weight: tuple[float, float] = (0.2, 0.5)
    # eye narrowing that follows an emotion's intensity (AU6/AU7): chance per window, closure at full strength
    squeeze_prob: dict[str, float] = field(default_factory=lambda: {
        "happiness": 0.5, "sadness": 0.5, "anger": 0.5})
    squeeze: tuple[float, float] = (0.3, 0.9)       # fraction of the eye's opening closed at full intensity
    # crying: a window's sadness comes with these blendshapes, each at a random fraction (range) of the
    # sadness level (x its max_weight): fear stretches the lips (AU20), disgust raises the upper lip (AU10),
    # anger knits the brows (AU4); the lips are pressed (AU24) and the eyes squeezed
    cry_prob: float = 0.4
    cry_blend: dict[str, tuple[float, float]] = field(default_factory=lambda: {
        "fear": (0.4, 0.9), "disgust": (0.2, 0.6), "anger": (0.1, 0.3)})
    cry_press: tuple[float, float] = (0.6, 1.0)      # fraction of the inner-lip opening pressed shut
    talk_prob: float = 0.35                         # chance of talking-like jaw motion
    talk_angle: tuple[float, float] = (1.0, 5.0)    # peak jaw rotation
    talk_hz: tuple[float, float] = (2.5, 6.0)
    blink_rate_hz: float = 0.3
    blink_frames: tuple[int, int] = (3, 7)
    yaw: float = 15.0                               # std of the base pose (clipped at 2.5 std)
    pitch: float = 10.0
    roll: float = 7.0
    drift: float = 3.0                              # max amplitude of pose drift within a window
    focal_px: tuple[float, float] = (500.0, 1000.0)
    iod_px: tuple[float, float] = (25.0, 110.0)     # face size as inter-ocular distance in pixels (log-uniform)
    shift_px: float = 0.03                          # translation drift, fraction of iod_px per window
    jitter: tuple[float, float] = (0.003, 0.010)    # per-landmark per-frame noise std, inter-ocular units
    face_jitter: float = 0.004                      # per-frame whole-face shift std, inter-ocular units
    layout_correction: bool = True                  # add LAYOUT_OFFSET (dlib's annotation convention)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class _Rig:
    """The SFM evaluated only where needed. Shape: M = rig vertices (landmarks + contour candidates)."""

    mean: np.ndarray          # (M, 3)
    basis: np.ndarray         # (K, M, 3) scaled by sqrt(eigenvalues)
    blend: np.ndarray         # (B, M, 3)
    blend_names: tuple[str, ...]
    landmark_rows: np.ndarray  # (68,) rig row per iBUG landmark (-1: built)
    candidates: np.ndarray    # (2, 17, C) rig rows of silhouette candidates (right, left)
    jaw_weight: np.ndarray    # (M,) how much each vertex follows the jaw
    iod_mm: float


def _contour_candidates(mean: np.ndarray, contour: tuple[int, ...], per_level: int) -> np.ndarray:
    """For each contour vertex, ``per_level`` vertices at its height from it towards the face front.

    Shape: mean (V, 3) -> (len(contour), per_level) vertex indices.
    """
    out = []
    for c in contour:
        p = mean[c]
        ok = ((np.sign(mean[:, 0]) == np.sign(p[0])) & (np.abs(mean[:, 1] - p[1]) < 3.0)
              & (mean[:, 2] >= p[2] - 1.0) & (np.abs(mean[:, 0]) >= 0.4 * abs(p[0])))
        sel = np.flatnonzero(ok)
        sel = sel[np.argsort(-np.abs(mean[sel, 0]))]
        pick = sel[np.linspace(0, len(sel) - 1, per_level).round().astype(int)] if len(sel) else []
        out.append(np.concatenate([[c], pick])[:per_level])
    return np.asarray(out, dtype=np.int64)


@lru_cache(maxsize=2)
def _build_rig(directory: str | None = None, per_level: int = 8) -> _Rig:
    model: SurreyFaceModel = load_sfm(directory)
    mean_all = model.shape.mean.reshape(-1, 3)
    mapped = {i - 1: v for i, v in model.ibug_to_vertex.items()}
    cands = np.stack([_contour_candidates(mean_all, model.right_contour, per_level),
                      _contour_candidates(mean_all, model.left_contour, per_level)])
    vertices, rows = np.unique(np.concatenate([list(mapped.values()), cands.ravel()]), return_inverse=True)
    landmark_rows = np.full(68, -1, dtype=np.int64)
    landmark_rows[list(mapped)] = rows[:len(mapped)]
    shape = model.shape.rows(vertices)
    k = len(shape.eigenvalues)
    basis = (shape.basis * np.sqrt(shape.eigenvalues)).T.reshape(k, -1, 3)
    mean = shape.mean.reshape(-1, 3)
    jaw_weight = np.clip((-20.0 - mean[:, 1]) / 25.0, 0.0, 1.0)        # contour: below the mouth line
    lm = landmark_rows[landmark_rows >= 0]
    jaw_weight[lm] = 0.0
    jaw_weight[landmark_rows[[i for i in LOWER_JAW if landmark_rows[i] >= 0]]] = 1.0
    jaw_weight[landmark_rows[[i for i in MOUTH_CORNERS if landmark_rows[i] >= 0]]] = 0.5
    eyes = mean[landmark_rows[36:48]]
    iod = float(np.linalg.norm(eyes[6:].mean(0) - eyes[:6].mean(0)))
    blend = model.blendshapes.rows(vertices)
    return _Rig(mean, basis, blend.offsets.reshape(len(blend.names), -1, 3), blend.names,
                landmark_rows, rows[len(mapped):].reshape(cands.shape), jaw_weight, iod)


def _smoothstep(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)


def _rotation(yaw: np.ndarray, pitch: np.ndarray, roll: np.ndarray) -> np.ndarray:
    """Head rotation (degrees; yaw about y, pitch about x, positive = chin down, roll about z).

    Shape: (...) each -> (..., 3, 3).
    """
    y, p, r = (np.deg2rad(a) for a in (yaw, pitch, roll))
    cy, sy, cp, sp, cr, sr = np.cos(y), np.sin(y), np.cos(p), np.sin(p), np.cos(r), np.sin(r)
    one, zero = np.ones_like(y), np.zeros_like(y)
    ry = np.stack([cy, zero, sy, zero, one, zero, -sy, zero, cy], -1).reshape(*y.shape, 3, 3)
    rx = np.stack([one, zero, zero, zero, cp, sp, zero, -sp, cp], -1).reshape(*y.shape, 3, 3)
    rz = np.stack([cr, -sr, zero, sr, cr, zero, zero, zero, one], -1).reshape(*y.shape, 3, 3)
    return rz @ ry @ rx


def _weights_for(rng: np.random.Generator, label: int, cfg: SynthConfig, t: int, names: tuple[str, ...]
                 ) -> tuple[np.ndarray, str]:
    """Blendshape weight curves of one window ending in class ``label``, and the scenario's name.

    Shape: -> (T, B) weights (in blendshape units), str.
    """
    w = np.zeros((t, len(names)))
    frames = np.arange(t, dtype=np.float64)
    targets = list(TARGETS.values())

    def ramp(start: float, length: float) -> np.ndarray:
        return _smoothstep((frames - start) / max(length, 1e-3))

    def put(shape: str, intensity: np.ndarray) -> None:
        w[:, names.index(shape)] += intensity * cfg.max_weight[shape]

    def ramp_window(hold_min: float = 0) -> tuple[float, float]:
        """A ramp that completes by frame T-1-hold_min (start may precede the window)."""
        room = max(t - 1 - hold_min, 1e-3)
        length = min(float(rng.integers(cfg.ramp_frames[0], cfg.ramp_frames[1] + 1)), room)
        return rng.uniform(-length / 2, room - length), length

    name = EMOTIONS[label]
    lo, hi = cfg.intensity
    if name != "Neutral":
        shape, apex = TARGETS[name], rng.uniform(lo, hi)
        scen = rng.choice(list(cfg.emotion_scenarios), p=_probs(cfg.emotion_scenarios))
        if scen == "held":
            put(shape, apex * (1 + 0.05 * np.sin(2 * np.pi * frames / rng.uniform(20, 60) + rng.uniform(0, 6))))
        elif scen == "onset":
            put(shape, apex * ramp(*ramp_window()))
        elif scen == "transition":
            other = rng.choice([s for s in targets if s != shape])
            delay = rng.uniform(0, min(cfg.ramp_frames[0], (t - 1) / 2))
            start, length = ramp_window(hold_min=delay)
            put(other, rng.uniform(lo, hi) * (1 - ramp(start, length)))
            put(shape, apex * ramp(start + delay, length))
        else:  # partial_offset: past its apex, still clearly showing
            end = rng.uniform(cfg.label_threshold, apex) if apex > cfg.label_threshold else apex
            put(shape, apex - (apex - end) * ramp(*ramp_window()))
    else:
        scen = rng.choice(list(cfg.neutral_scenarios), p=_probs(cfg.neutral_scenarios))
        if scen in ("offset", "weak"):
            shape = rng.choice(targets)
            residual = rng.uniform(0, cfg.neutral_ceiling)
            if scen == "offset":
                apex = rng.uniform(lo, hi)
                start, length = ramp_window(hold_min=2)
                put(shape, residual + (apex - residual) * (1 - ramp(start, length)))
            else:
                put(shape, residual * ramp(*ramp_window()))
        elif scen == "distractor":
            put(rng.choice(DISTRACTORS), rng.uniform(*cfg.distractor_neutral_weight) * ramp(*ramp_window()))
    if rng.random() < cfg.distractor_prob:
        put(rng.choice(DISTRACTORS), np.full(t, rng.uniform(*cfg.distractor_weight)))
    return w, str(scen)


def _probs(table: dict[str, float]) -> np.ndarray:
    p = np.asarray(list(table.values()), dtype=np.float64)
    if (p < 0).any() or p.sum() <= 0:
        raise ValueError(f"scenario probabilities must be non-negative with a positive sum: {table}")
    return p / p.sum()


def end_label(weights: np.ndarray, names: tuple[str, ...], cfg: SynthConfig) -> int:
    """The label rule: strongest target emotion at the last frame if >= label_threshold, else Neutral.

    Shape: weights (T, B) -> class index.
    """
    levels = {cls: weights[-1, names.index(s)] / cfg.max_weight[s] for cls, s in TARGETS.items()}
    best = max(levels, key=levels.get)
    return class_index(best if levels[best] >= cfg.label_threshold - 1e-9 else "Neutral")


def _course(rng: np.random.Generator, n: int, t: int, amp: float, hz: tuple[float, float], fps: float
            ) -> np.ndarray:
    """Smooth random motion: a linear drift plus a sinusoid, peak ``amp``. Shape: -> (n, t)."""
    frames = np.arange(t) / fps
    phase = rng.uniform(0, 2 * np.pi, (n, 1))
    freq = rng.uniform(*hz, (n, 1))
    return (rng.uniform(-amp, amp, (n, 1)) * frames / max(frames[-1], 1e-9)
            + rng.uniform(0, amp, (n, 1)) * np.sin(2 * np.pi * freq * frames + phase))


def _blinks(rng: np.random.Generator, n: int, t: int, cfg: SynthConfig) -> np.ndarray:
    """Eye closure in [0, 1] per frame. Shape: -> (n, t)."""
    out = np.zeros((n, t))
    frames = np.arange(t)
    counts = rng.poisson(cfg.blink_rate_hz * t / cfg.fps, n)
    for i in np.flatnonzero(counts):
        for _ in range(counts[i]):
            centre, half = rng.uniform(0, t), rng.integers(*cfg.blink_frames) / 2
            out[i] = np.maximum(out[i], np.clip(1 - np.abs(frames - centre) / half, 0, 1))
    return out


def _resting_mouth(rng: np.random.Generator, ident: np.ndarray, rig: _Rig, cfg: SynthConfig) -> np.ndarray:
    """Per-window change of the resting mouth (``SynthConfig.mouth_*``, ``corner_lift``).

    Shape: ident (n, M, 3) neutral identity vertices -> (n, M, 3) offsets in mm (model y is up).
    """
    n = ident.shape[0]
    mouth = [i for i in range(48, 68) if rig.landmark_rows[i] >= 0]
    rows = rig.landmark_rows[mouth]
    rel = ident[:, rows] - ident[:, rows].mean(1, keepdims=True)                   # (n, R, 3)
    scale = 1.0 + rng.uniform(-1.0, 1.0, (n, 1, 2)) * np.asarray(cfg.mouth_scale)
    offset = np.zeros_like(ident)
    offset[:, rows, :2] = (scale - 1.0) * rel[..., :2]
    offset[:, rows, 1] += rng.normal(0.0, cfg.mouth_shift, (n, 1)) * rig.iod_mm
    corners = rig.landmark_rows[[i for i in MOUTH_CORNERS if rig.landmark_rows[i] >= 0]]
    offset[:, corners, 1] += rng.normal(0.0, cfg.corner_lift, (n, 1)) * rig.iod_mm
    return offset


def _add_crying(rng: np.random.Generator, weights: np.ndarray, names: tuple[str, ...], cfg: SynthConfig
                ) -> tuple[np.ndarray, np.ndarray]:
    """Turn the sadness of ``cfg.cry_prob`` of the windows into crying (``cfg.cry_blend``).

    The added anger stays below the sadness, so the label rule is unchanged.
    Shape: weights (n, T, B) -> (n, T, B) weights, (n,) bool crying.
    """
    n = weights.shape[0]
    sadness = weights[..., names.index("sadness")] / cfg.max_weight["sadness"]     # (n, T)
    crying = (rng.random(n) < cfg.cry_prob) & (sadness.max(1) > 0)
    weights = weights.copy()
    for shape, (lo, hi) in cfg.cry_blend.items():
        weights[..., names.index(shape)] += (crying[:, None] * rng.uniform(lo, hi, (n, 1)) * sadness
                                             * cfg.max_weight[shape])
    return weights, crying


def _press_lips(rng: np.random.Generator, lm: np.ndarray, crying: np.ndarray, cfg: SynthConfig) -> None:
    """Close ``cfg.cry_press`` of the inner-lip opening of the crying windows, in place (the lips roll
    together; the outer lip line keeps its height, as dlib sees a pressed mouth).

    Shape: lm (n, T, 68, 3), crying (n,) bool.
    """
    fraction = (crying * rng.uniform(*cfg.cry_press, len(crying)))[:, None, None]
    for upper, lower in PRESSED_PAIRS:
        gap = lm[:, :, lower] - lm[:, :, upper]
        lm[:, :, upper] += 0.5 * fraction * gap
        lm[:, :, lower] -= 0.5 * fraction * gap


def _squeeze(rng: np.random.Generator, weights: np.ndarray, names: tuple[str, ...], cfg: SynthConfig,
             crying: np.ndarray) -> np.ndarray:
    """Eye closure in [0, 1] that follows the intensity of the emotions in ``cfg.squeeze_prob`` (always
    for the sadness of a crying window).

    Shape: weights (n, T, B), crying (n,) bool -> (n, T).
    """
    n = weights.shape[0]
    closure = np.zeros(weights.shape[:2])
    for shape, prob in cfg.squeeze_prob.items():
        chosen = rng.random((n, 1)) < prob
        if shape == "sadness":
            chosen |= crying[:, None]
        gain = chosen * rng.uniform(*cfg.squeeze, (n, 1))
        closure = np.maximum(closure, gain * weights[..., names.index(shape)] / cfg.max_weight[shape])
    return np.clip(closure, 0.0, 1.0)


def _render(rig: _Rig, rng: np.random.Generator, coef: np.ndarray, weights: np.ndarray, cfg: SynthConfig
            ) -> np.ndarray:
    """Landmark pixels for n windows of one chunk.

    Shape: coef (n, K) identity PCA coefficients, weights (n, T, B) -> (n, T, 68, 2) float32.
    """
    n, t, _ = weights.shape
    weights, crying = _add_crying(rng, weights, rig.blend_names, cfg)
    # identity + expression + jaw: (n, T, M, 3) in model millimetres
    ident = rig.mean + np.tensordot(coef, rig.basis, axes=1)                       # (n, M, 3)
    ident = ident + _resting_mouth(rng, ident, rig, cfg)
    verts = ident[:, None] + np.tensordot(weights, rig.blend, axes=1)              # (n, T, M, 3)
    talk = (rng.random((n, 1)) < cfg.talk_prob) * rng.uniform(*cfg.talk_angle, (n, 1))
    jaw = np.deg2rad(talk * np.clip(_course(rng, n, t, 1.0, cfg.talk_hz, cfg.fps), 0, None))  # (n, T)
    rel = verts - JAW_HINGE_MM
    verts = verts + (jaw[..., None, None] * rig.jaw_weight[:, None]
                     * np.stack([np.zeros_like(rel[..., 1]), -rel[..., 2], rel[..., 1]], -1))
    # head pose: base + drift, (n, T, 3, 3)
    base = [np.clip(rng.normal(0, s, (n, 1)), -2.5 * s, 2.5 * s) for s in (cfg.yaw, cfg.pitch, cfg.roll)]
    pose = [b + _course(rng, n, t, cfg.drift, (0.2, 1.0), cfg.fps) for b in base]
    rot = _rotation(*pose)
    verts = verts @ np.swapaxes(rot, -1, -2)
    # landmarks in the rotated frame
    lm = np.zeros((n, t, 68, 3))
    mapped = rig.landmark_rows >= 0
    lm[:, :, mapped] = verts[:, :, rig.landmark_rows[mapped]]
    _press_lips(rng, lm, crying, cfg)
    for inner, (outer, a, b) in INNER_CORNERS.items():
        lm[:, :, inner] = 0.75 * lm[:, :, outer] + 0.125 * (lm[:, :, a] + lm[:, :, b])
    blink = np.maximum(_blinks(rng, n, t, cfg), _squeeze(rng, weights, rig.blend_names, cfg, crying))[..., None]
    for upper, lower in UPPER_LIDS.items():
        lm[:, :, upper] += 0.85 * blink * (lm[:, :, lower] - lm[:, :, upper])
    lm[:, :, RIGHT_JAW + LEFT_JAW] = _silhouette_jaw(verts, rig)
    if cfg.layout_correction:
        offset = np.concatenate([LAYOUT_OFFSET * [1.0, -1.0], np.zeros((68, 1))], 1) * rig.iod_mm
        lm += offset @ np.swapaxes(rot, -1, -2)
    return _project(rng, lm, cfg, rig.iod_mm)


def _silhouette_jaw(verts: np.ndarray, rig: _Rig) -> np.ndarray:
    """Jaw points 1-8 and 17-10: per contour level the candidate furthest out in the image (the
    pose-dependent silhouette), then interpolated at ``JAW_LEVELS``.

    Shape: verts (n, T, M, 3) rotated -> (n, T, 16, 3), right jaw then left jaw (outside in).
    """
    cand = verts[:, :, rig.candidates]                              # (n, T, 2, 17, C, 3)
    outward = cand[..., 0] * np.array([-1.0, 1.0])[:, None, None]    # right side is -x
    pick = np.take_along_axis(cand, outward.argmax(-1)[..., None, None], axis=-2)[..., 0, :]  # (n,T,2,17,3)
    levels = np.asarray(JAW_LEVELS)
    lo = np.floor(levels).astype(int)
    hi = np.minimum(lo + 1, pick.shape[3] - 1)
    frac = (levels - lo)[:, None]
    jaw = pick[:, :, :, lo] * (1 - frac) + pick[:, :, :, hi] * frac   # (n, T, 2, 8, 3)
    return jaw.reshape(*jaw.shape[:2], 16, 3)


def _project(rng: np.random.Generator, lm: np.ndarray, cfg: SynthConfig, iod_mm: float) -> np.ndarray:
    """Perspective camera with random focal length, face size and position, plus dlib-like jitter.

    Shape: lm (n, T, 68, 3) rotated model mm -> (n, T, 68, 2) float32 pixels.
    """
    n, t = lm.shape[:2]
    width, height = cfg.image_size
    focal = rng.uniform(*cfg.focal_px, (n, 1, 1))
    iod_px = np.exp(rng.uniform(*np.log(cfg.iod_px), (n, 1, 1)))
    depth = focal * iod_mm / iod_px                                     # camera to face centre, mm
    margin = 2.5 * iod_px
    cx = rng.uniform(margin, np.maximum(width - margin, margin + 1))
    cy = rng.uniform(margin, np.maximum(height - margin, margin + 1))
    drift = _course(rng, n, t, 1.0, (0.1, 0.5), cfg.fps)[..., None] * cfg.shift_px * iod_px
    z = depth - lm[..., 2]
    x = cx + focal * lm[..., 0] / z + drift
    y = cy - focal * lm[..., 1] / z + drift * rng.choice([-1.0, 1.0], (n, 1, 1))
    pts = np.stack([x, y], -1)
    sigma = rng.uniform(*cfg.jitter, (n, 1, 1, 1)) * iod_px[..., None]
    pts += rng.normal(0, 1, pts.shape) * sigma
    pts += rng.normal(0, cfg.face_jitter, (n, t, 1, 2)) * iod_px[..., None]
    return pts.astype(np.float32)


def generate_windows(count: int, seed: int = 0, config: SynthConfig | None = None, window: int = WINDOW,
                     progress: bool = True, sfm_directory: str | Path | None = None,
                     chunk: int = 256) -> WindowSet:
    """``count`` labelled windows, classes balanced (round-robin, shuffled), reproducible from ``seed``.

    Shape: -> WindowSet with landmarks (count, window, 68, 2) pixels of a ``config.image_size`` camera,
    labels (count,) indexing EMOTIONS, groups "synth-<seed>-<identity>", meta with config, seed and
    per-window scenario names.
    """
    if count < 1 or window < 2:
        raise ValueError(f"count must be >= 1 and window >= 2, got count={count}, window={window}")
    cfg = config or SynthConfig()
    if not 0 <= cfg.neutral_ceiling < cfg.label_threshold <= cfg.intensity[0] <= cfg.intensity[1]:
        raise ValueError("need 0 <= neutral_ceiling < label_threshold <= intensity[0] <= intensity[1]")
    rig = _build_rig(str(sfm_directory) if sfm_directory else None)
    rng = np.random.default_rng(seed)
    labels = rng.permutation(np.arange(count) % len(EMOTIONS))
    identities = rng.permutation(np.arange(count) // max(cfg.windows_per_identity, 1))
    identity_coef = rng.normal(0.0, cfg.identity_sigma, (identities.max() + 1, rig.basis.shape[0]))
    landmarks = np.zeros((count, window, 68, 2), dtype=np.float32)
    scenarios = []
    bar = tqdm(total=count, desc="synth", unit="win", disable=not progress)
    for start in range(0, count, chunk):
        stop = min(start + chunk, count)
        crng = np.random.default_rng([seed, start])
        curves = [_weights_for(crng, int(lab), cfg, window, rig.blend_names) for lab in labels[start:stop]]
        weights = np.stack([c[0] for c in curves])
        for lab, (w, _) in zip(labels[start:stop], curves):
            if end_label(w, rig.blend_names, cfg) != lab:
                raise ValueError(f"a {EMOTIONS[lab]} scenario did not end in its label; check the "
                                 "SynthConfig ranges (label_threshold, intensity, ramp_frames)")
        scenarios += [c[1] for c in curves]
        landmarks[start:stop] = _render(rig, crng, identity_coef[identities[start:stop]], weights, cfg)
        bar.update(stop - start)
    bar.close()
    groups = np.array([f"synth-{seed}-{i}" for i in identities])
    meta = {"source": "synth", "seed": seed, "window": window, "config": cfg.to_dict(), "scenarios": scenarios}
    return WindowSet(landmarks, labels, groups, EMOTIONS, meta)


def frontal_neutral_mean(count: int = 200, seed: int = 0, layout_correction: bool = False,
                         sfm_directory: str | Path | None = None) -> np.ndarray:
    """Mean normalised landmarks of ``count`` random identities, neutral, frontal, noise-free.

    Shape: -> (68, 2) float64 in inter-ocular units (``normalize_landmarks``).
    """
    cfg = SynthConfig(yaw=0, pitch=0, roll=0, drift=0, shift_px=0, jitter=(0, 0), face_jitter=0, talk_prob=0,
                      mouth_scale=(0.0, 0.0), mouth_shift=0.0, corner_lift=0.0,
                      blink_rate_hz=0, distractor_prob=0, neutral_scenarios={"calm": 1.0},
                      layout_correction=layout_correction)
    ws = generate_windows(count * len(EMOTIONS), seed, cfg, window=2, progress=False, sfm_directory=sfm_directory)
    neutral = ws.landmarks[ws.labels == class_index("Neutral"), -1]
    return normalize_landmarks(neutral).astype(np.float64).mean(0)


def fit_layout_offset(synthetic: np.ndarray, real: np.ndarray) -> np.ndarray:
    """Per-landmark offset that moves the synthetic layout onto dlib's, kept only where every real
    identity agrees on its direction (per axis: the smallest agreeing gap, else 0), so that one
    person's face shape is not learned as a convention.

    Shape: synthetic (68, 2), real (I, 68, 2) normalised neutral shapes of I identities -> (68, 2).
    """
    real = np.asarray(real, dtype=np.float64)
    if real.ndim != 3 or real.shape[1:] != (68, 2) or np.shape(synthetic) != (68, 2):
        raise ValueError(f"expected synthetic (68, 2) and real (I, 68, 2), got {np.shape(synthetic)}, {real.shape}")
    gaps = _symmetric(real) - _symmetric(np.asarray(synthetic, dtype=np.float64))
    agree = np.all(np.sign(gaps) == np.sign(gaps[0]), axis=0)
    return np.where(agree, np.sign(gaps[0]) * np.abs(gaps).min(axis=0), 0.0)


def _symmetric(shape: np.ndarray) -> np.ndarray:
    """Average of a normalised shape and its mirror image (removes yaw asymmetry). Shape: (..., 68, 2)."""
    return (shape + shape[..., MIRROR, :] * [-1.0, 1.0]) / 2


def layout_gap(synthetic: np.ndarray, real: np.ndarray) -> dict[str, float]:
    """RMS distance per face part between a synthetic and a real mean shape (inter-ocular units).

    Shape: synthetic (68, 2), real (68, 2) -> {part: rms}.
    """
    diff = np.linalg.norm(np.asarray(synthetic) - np.asarray(real), axis=-1)
    return {part: float(np.sqrt((diff[list(idx)] ** 2).mean())) for part, idx in PARTS.items()}
