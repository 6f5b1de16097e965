"""dlib's HOG frontal face detector and 68-point shape predictor behind one small class.

Boxes are ``(x, y, w, h)`` integer pixels, the detector's own rectangles (dlib's predictor was trained
on them, so landmarks are best when it gets such a box). Landmarks are (68, 2) float32 image pixels in
iBUG order.

The predictor is dlib's model file evaluated by ``emotion.perception.ert`` (dlib's own landmarks, checked
by tests/test_ert.py): dlib's binding holds the GIL for the whole call, this one does not.

Thread safety: both calls release the GIL, so threads run them in parallel. The shape model is
read-only while predicting and is shared by all threads; the HOG detector keeps a scratch feature
pyramid, so each thread that detects gets its own on its first ``detect``: a copy of the one built with
the class (1 ms), since building one (``dlib.get_frontal_face_detector``) takes ~0.4 s with the GIL held,
which stopped every perception thread when a pool thread first searched.
"""

import copy
import threading
from pathlib import Path

import dlib
import numpy as np

from emotion.face68 import NUM_LANDMARKS
from emotion.paths import default_predictor_path
from emotion.perception.ert import ShapeModel

Box = tuple[int, int, int, int]
"""A face box: x, y (top-left), width, height in pixels."""


def _check_gray(gray: np.ndarray) -> np.ndarray:
    if not isinstance(gray, np.ndarray) or gray.ndim != 2 or gray.dtype != np.uint8:
        desc = f"{gray.dtype} array of shape {gray.shape}" if isinstance(gray, np.ndarray) else type(gray).__name__
        raise ValueError(f"expected a 2-D uint8 gray image, got {desc}")
    return np.ascontiguousarray(gray)


class LandmarkDetector:
    """Face boxes (HOG detector) and their 68 landmarks (shape predictor).

    ``predictor_path``: dlib's ``shape_predictor_68_face_landmarks.dat``; default: the copy shipped by the
    face-recognition-models package.
    """

    def __init__(self, predictor_path: str | Path | None = None) -> None:
        path = Path(predictor_path) if predictor_path is not None else default_predictor_path()
        if not path.is_file():
            raise FileNotFoundError(f"no dlib 68-point shape predictor at {path}")
        self.predictor_path = path
        self._model = ShapeModel.load(path)
        self._prototype = dlib.get_frontal_face_detector()
        self._local = threading.local()

    def _detector(self) -> "dlib.fhog_object_detector":
        """This thread's HOG detector (see the module docstring)."""
        detector = getattr(self._local, "detector", None)
        if detector is None:
            detector = self._local.detector = copy.deepcopy(self._prototype)
        return detector

    def detect_scored(self, gray: np.ndarray, upsample: int = 0, threshold: float = 0.0) -> list[tuple[Box, float]]:
        """Face boxes with their detector scores, best first.

        ``upsample`` doubles the image that many times first (finds faces half as big, costs ~4x each);
        ``threshold`` shifts the decision threshold (negative: more faces and more false ones).

        Shape: gray (H, W) uint8.
        """
        gray = _check_gray(gray)
        if upsample < 0:
            raise ValueError(f"upsample must be >= 0, got {upsample}")
        rects, scores, _ = self._detector().run(gray, int(upsample), float(threshold))
        found = [((r.left(), r.top(), r.width(), r.height()), float(s)) for r, s in zip(rects, scores)]
        return sorted(found, key=lambda item: -item[1])

    def detect(self, gray: np.ndarray, upsample: int = 0, threshold: float = 0.0) -> list[Box]:
        """Face boxes, best first. Shape: gray (H, W) uint8."""
        return [box for box, _ in self.detect_scored(gray, upsample, threshold)]

    def landmarks(self, gray: np.ndarray, box: Box) -> np.ndarray:
        """The 68 landmarks of the face in ``box`` (a detector box or one derived like it).

        Shape: gray (H, W) uint8 -> (68, 2) float32 pixels (x, y).
        """
        gray = _check_gray(gray)
        x, y, w, h = (int(round(v)) for v in box)
        if w <= 0 or h <= 0:
            raise ValueError(f"box {box} has no area")
        points = self._model.predict(gray, (x, y, w, h))
        if points.shape != (NUM_LANDMARKS, 2):
            raise RuntimeError(f"{self.predictor_path} is not a 68-point predictor (gave {len(points)} points)")
        return points
