"""Face crops for clients that want the face's pixels (RoboComp's FacialEmotionRecognition.FaceImage)."""

import cv2
import numpy as np


def face_crop(frame_bgr: np.ndarray, box: tuple[int, int, int, int], size: int) -> np.ndarray:
    """The square around ``box`` (x, y, w, h; side = the longer one, same centre) resized to ``size``;
    parts outside the frame are black.

    Shape: frame_bgr (H, W, 3) uint8 -> (size, size, 3) uint8.
    """
    if size <= 0:
        raise ValueError(f"crop size must be positive, got {size}")
    x, y, w, h = box
    side = max(int(w), int(h), 1)
    left, top = int(x + w / 2 - side / 2), int(y + h / 2 - side / 2)
    height, width = frame_bgr.shape[:2]
    square = np.zeros((side, side, 3), np.uint8)
    x0, y0, x1, y1 = max(left, 0), max(top, 0), min(left + side, width), min(top + side, height)
    if x1 > x0 and y1 > y0:
        square[y0 - top:y1 - top, x0 - left:x1 - left] = frame_bgr[y0:y1, x0:x1]
    return cv2.resize(square, (size, size), interpolation=cv2.INTER_AREA)
