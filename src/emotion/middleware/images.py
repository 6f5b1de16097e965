"""TImage / TDepth builders for publishers (cameras, tests, benchmarks). Decoding lives in perception."""

import time
from typing import Any

import cv2
import numpy as np

from emotion.middleware.slices import load_interfaces


def now_ms() -> int:
    """Wall-clock milliseconds since the epoch (TImage.alivetime)."""
    return int(time.time() * 1000)


def encode_timage(frame_bgr: np.ndarray, camera_id: int = 0, alivetime_ms: int | None = None,
                  period_ms: float = 0.0, jpeg: bool = False, quality: int = 90) -> Any:
    """A RoboCompCameraRGBDSimple.TImage holding ``frame_bgr``, raw BGR bytes or JPEG when ``jpeg``.

    Shape: frame_bgr (H, W, 3) uint8. ValueError for any other array.
    """
    frame = np.asarray(frame_bgr)
    if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
        raise ValueError(f"expected an (H, W, 3) uint8 BGR frame, got {frame.dtype} {frame.shape}")
    if not 1 <= quality <= 100:
        raise ValueError(f"JPEG quality must be in 1..100, got {quality}")
    height, width = frame.shape[:2]
    if jpeg:
        ok, buffer = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, quality])
        if not ok:
            raise ValueError("OpenCV could not JPEG-encode the frame")
        data = buffer.tobytes()
    else:
        data = np.ascontiguousarray(frame).tobytes()
    camera = load_interfaces().RoboCompCameraRGBDSimple
    return camera.TImage(compressed=jpeg, cameraID=int(camera_id), width=width, height=height, depth=3,
                         focalx=0, focaly=0, alivetime=now_ms() if alivetime_ms is None else int(alivetime_ms),
                         period=float(period_ms), image=data)


def empty_tdepth(camera_id: int = 0, alivetime_ms: int = 0) -> Any:
    """A TDepth with no data (RGB-only cameras)."""
    camera = load_interfaces().RoboCompCameraRGBDSimple
    return camera.TDepth(compressed=False, cameraID=int(camera_id), width=0, height=0, focalx=0, focaly=0,
                         alivetime=int(alivetime_ms), period=0.0, depthFactor=0.0, depth=b"")
