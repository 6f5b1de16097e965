"""The iBUG 68-point face layout (dlib's shape_predictor_68 order, 0-based): parts, mirror map, key points.

Everything that needs to know which landmark is which (graph, normalisation, augmentation, synthesis,
drawing) reads it from here.
"""

import numpy as np

NUM_LANDMARKS: int = 68

# Part name -> landmark indices, in drawing order. "Right" is the subject's right (image left).
PARTS: dict[str, tuple[int, ...]] = {
    "jaw": tuple(range(0, 17)),
    "right_brow": tuple(range(17, 22)),
    "left_brow": tuple(range(22, 27)),
    "nose_bridge": tuple(range(27, 31)),
    "nose_base": tuple(range(31, 36)),
    "right_eye": tuple(range(36, 42)),
    "left_eye": tuple(range(42, 48)),
    "outer_lips": tuple(range(48, 60)),
    "inner_lips": tuple(range(60, 68)),
}
CLOSED_PARTS: frozenset[str] = frozenset({"right_eye", "left_eye", "outer_lips", "inner_lips"})
"""Parts whose outline is a loop (last point joins the first)."""

NOSE_TIP: int = 30
RIGHT_EYE: tuple[int, ...] = PARTS["right_eye"]
LEFT_EYE: tuple[int, ...] = PARTS["left_eye"]


def _mirror_permutation() -> np.ndarray:
    pairs = [(i, 16 - i) for i in range(8)]                                  # jaw
    pairs += [(17 + i, 26 - i) for i in range(5)]                            # brows
    pairs += [(31, 35), (32, 34)]                                            # nose base
    pairs += [(36, 45), (37, 44), (38, 43), (39, 42), (40, 47), (41, 46)]    # eyes
    pairs += [(48, 54), (49, 53), (50, 52), (55, 59), (56, 58)]              # outer lips
    pairs += [(60, 64), (61, 63), (65, 67)]                                  # inner lips
    perm = np.arange(NUM_LANDMARKS)
    for a, b in pairs:
        perm[a], perm[b] = b, a
    return perm


MIRROR: np.ndarray = _mirror_permutation()
"""MIRROR[i] is the landmark that i becomes when the face is flipped left-right (an involution)."""


def eye_centres(landmarks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Right and left eye centres.

    Shape: landmarks (..., 68, 2) -> two arrays (..., 2).
    """
    return landmarks[..., RIGHT_EYE, :].mean(axis=-2), landmarks[..., LEFT_EYE, :].mean(axis=-2)


def inter_ocular_distance(landmarks: np.ndarray) -> np.ndarray:
    """Distance between the eye centres, the face's scale.

    Shape: landmarks (..., 68, 2) -> (...).
    """
    right, left = eye_centres(landmarks)
    return np.linalg.norm(left - right, axis=-1)
