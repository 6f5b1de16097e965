"""Drawing face states on frames: box, landmarks, label and probability bars (listener, analyze, demo)."""

from typing import Sequence

import cv2
import numpy as np

from emotion.face68 import CLOSED_PARTS, PARTS
from emotion.states import COLOURS, DEFAULT_COLOUR, FaceState

def draw_face(frame: np.ndarray, face: FaceState, class_names: Sequence[str]) -> None:
    """Draw one face's box, landmarks, label and a bar per class onto ``frame`` (BGR, in place)."""
    colour = COLOURS.get(face.label, DEFAULT_COLOUR)
    x, y, w, h = face.box
    cv2.rectangle(frame, (x, y), (x + w, y + h), colour, 2)
    if face.landmarks is not None and len(face.landmarks):
        pts = np.round(face.landmarks).astype(np.int32)
        for name, idx in PARTS.items():
            cv2.polylines(frame, [pts[list(idx)]], name in CLOSED_PARTS, colour, 1, cv2.LINE_AA)
    fill = "" if face.buffer_frames >= face.window_frames else f" ({face.buffer_frames}/{face.window_frames})"
    text = f"#{face.track_id} {face.label} {face.confidence:.0%}{fill}"
    cv2.putText(frame, text, (x, max(14, y - 8)), cv2.FONT_HERSHEY_SIMPLEX, 0.55, (0, 0, 0), 3, cv2.LINE_AA)
    cv2.putText(frame, text, (x, max(14, y - 8)), cv2.FONT_HERSHEY_SIMPLEX, 0.55, colour, 1, cv2.LINE_AA)
    bar_x, bar_w, row = x + w + 6, 70, 14
    if bar_x + bar_w + 60 > frame.shape[1]:
        bar_x = max(0, x - bar_w - 66)
    for i, (name, p) in enumerate(zip(class_names, face.probabilities)):
        top = y + i * row
        cv2.rectangle(frame, (bar_x, top), (bar_x + bar_w, top + row - 3), (40, 40, 40), -1)
        cv2.rectangle(frame, (bar_x, top), (bar_x + int(bar_w * float(p)), top + row - 3),
                      COLOURS.get(name, DEFAULT_COLOUR), -1)
        cv2.putText(frame, name[:3], (bar_x + bar_w + 4, top + row - 4), cv2.FONT_HERSHEY_SIMPLEX, 0.4,
                    (255, 255, 255), 1, cv2.LINE_AA)


def draw_faces(frame: np.ndarray, faces: Sequence[FaceState], class_names: Sequence[str]) -> np.ndarray:
    """A copy of ``frame`` with every face drawn."""
    out = frame.copy()
    for face in faces:
        draw_face(out, face, class_names)
    return out
