"""emotion.perception.ert: dlib's shape predictor read from its file and run without the GIL gives dlib's
own landmarks, on real faces and on boxes that leave the image; files that are not one are refused."""

import cv2
import dlib
import numpy as np
import pytest

from emotion.paths import SAMPLE_CLIP, default_predictor_path, shared_media
from emotion.perception import ert
from emotion.perception.ert import ShapeModel


@pytest.fixture(scope="module")
def model() -> ShapeModel:
    return ShapeModel.from_file(default_predictor_path())


def _dlib_landmarks(predictor, gray: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    x, y, w, h = box
    shape = predictor(gray, dlib.rectangle(x, y, x + w - 1, y + h - 1))
    return np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float32)


def _frames() -> list[np.ndarray]:
    capture = cv2.VideoCapture(str(SAMPLE_CLIP))
    frames = []
    for index in range(0, 120):
        ok, frame = capture.read()
        if not ok:
            break
        if index % 6 == 0:
            frames.append(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY))
    for name in ("multi_face.jpg", "single_face.jpg"):
        path = shared_media(name)
        if path.is_file():
            frames.append(cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2GRAY))
    return frames


def test_landmarks_are_dlibs_own(model):
    predictor = dlib.shape_predictor(str(default_predictor_path()))
    detector = dlib.get_frontal_face_detector()
    assert model.points == 68 and model.index.shape[:2] == (15, 500)
    compared = 0
    for gray in _frames():
        h, w = gray.shape
        for r in detector(gray, 0):
            x, y, bw, bh = r.left(), r.top(), r.width(), r.height()
            boxes = [(x, y, bw, bh), (x + 4, y - 3, bw + 6, bh + 6), (x - 2, y + 5, bw - 8, bh - 8),
                     (w - bw // 2, y, bw, bh), (-bw // 3, -bh // 3, bw, bh)]     # half out of the image
            for box in boxes:
                np.testing.assert_array_equal(model.predict(gray, box), _dlib_landmarks(predictor, gray, box),
                                              err_msg=f"box {box}")
                compared += 1
    assert compared >= 50, f"only {compared} faces compared"


def test_the_predictor_releases_the_gil():
    assert ert._predict.targetoptions.get("nogil") is True


@pytest.mark.parametrize("damage", ["truncated", "random", "empty", "header only", "bad index"])
def test_files_that_are_not_a_shape_predictor_are_refused(tmp_path, damage):
    good = default_predictor_path().read_bytes()
    data = {
        "truncated": good[: len(good) // 2],
        "random": np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes(),
        "empty": b"",
        "header only": good[:600],
        "bad index": None,
    }[damage]
    if data is None:  # the first split's first feature index made huge
        raw = np.frombuffer(good, np.uint8)
        _, pos = ert._int(raw, 0)                                      # version
        pos = ert._column(raw, pos, np.empty(136, np.float32))         # mean shape
        for _ in range(3):                                             # levels, trees, splits
            _, pos = ert._int(raw, pos)
        _, end = ert._int(raw, pos)
        data = good[:pos] + bytes([3, 0xFF, 0xFF, 0x7F]) + good[end:]
    path = tmp_path / "model.dat"
    path.write_bytes(data)
    with pytest.raises(ValueError, match="model.dat"):
        ShapeModel.from_file(path)


def test_parsed_models_are_cached_and_mapped_and_a_damaged_entry_is_replaced(tmp_path, model):
    gray = _frames()[0]
    box = (200, 40, 180, 180)
    first = ShapeModel.load(default_predictor_path(), cache=tmp_path)       # parsed, then written
    (entry,) = tmp_path.iterdir()
    mapped = ShapeModel.load(default_predictor_path(), cache=tmp_path)      # read back, memory-mapped
    assert isinstance(mapped.leaves.base, np.memmap) or isinstance(mapped.leaves.base.base, np.memmap)
    np.testing.assert_array_equal(mapped.predict(gray, box), model.predict(gray, box))
    np.testing.assert_array_equal(first.predict(gray, box), model.predict(gray, box))
    leaves = entry / "leaves.npy"
    leaves.write_bytes(leaves.read_bytes()[:1000])                         # damaged
    again = ShapeModel.load(default_predictor_path(), cache=tmp_path)
    np.testing.assert_array_equal(again.predict(gray, box), model.predict(gray, box))
    assert ShapeModel.load(default_predictor_path(), cache=tmp_path).leaves.shape == model.leaves.shape
    assert leaves.stat().st_size > 60_000_000                              # written whole again
