"""Drawing face states on frames (listener, analyze, demo): box, landmarks and an info card per face.

The card (header "#id Label NN%", a "filling n/N" row while the landmark buffer is short, a "held" tag
when the smoother keeps an older label, one bar per class with its percentage) sits on a dark
translucent panel so it reads on any background, and is placed beside its face where it covers no other
face and no other card (right, left, below, above, flipped and clamped at the image edges). Every string
is drawn once, with one ``cv2.putText`` call (no outline copy).
"""

from dataclasses import dataclass
from typing import Sequence

import cv2
import numpy as np

from emotion.face68 import CLOSED_PARTS, PARTS
from emotion.states import COLOURS, DEFAULT_COLOUR, FaceState

FONT = cv2.FONT_HERSHEY_SIMPLEX
PANEL_BGR = (24, 24, 24)
PANEL_ALPHA = 0.78
"""Opacity of the card's dark panel: enough for white text on a white background."""
TEXT_BGR = (245, 245, 245)
DIM_BGR = (150, 150, 150)
TRACK_BGR = (70, 70, 70)
REFERENCE_SIDE = 560
"""Frames whose shorter side is this many pixels get font scale BASE_FONT; others scale with their size."""
BASE_FONT = 0.42


Rect = tuple[int, int, int, int]  # x, y, w, h


@dataclass(frozen=True)
class Metrics:
    """Sizes of a card's parts for one frame size (pixels, font scale)."""

    font: float
    row: int
    pad: int
    name_w: int
    bar_w: int
    value_w: int
    gap: int

    @classmethod
    def for_frame(cls, height: int, width: int) -> "Metrics":
        scale = float(np.clip(min(height, width) / REFERENCE_SIDE, 0.9, 3.0))
        font = BASE_FONT * scale
        (text_w, text_h), _ = cv2.getTextSize("Sur", FONT, font, 1)
        (value_w, _), _ = cv2.getTextSize("100%", FONT, font, 1)
        row = int(round(text_h * 1.75))
        return cls(font=font, row=row, pad=max(3, row // 4), name_w=text_w + max(3, row // 4),
                   bar_w=int(round(56 * scale)), value_w=value_w, gap=max(3, row // 4))


def text_colour_on(bgr: Sequence[int]) -> tuple[int, int, int]:
    """Black or white, whichever reads better on a ``bgr`` fill (relative luminance)."""
    b, g, r = (float(c) for c in bgr)
    return (0, 0, 0) if 0.0722 * b + 0.7152 * g + 0.2126 * r > 140 else (255, 255, 255)


def is_held(face: FaceState) -> bool:
    """True when the face says its label is held (``held`` attribute, when the state carries one)."""
    return bool(getattr(face, "held", False))


def is_filling(face: FaceState) -> bool:
    """True while the face's landmark buffer holds less than one model window."""
    return face.buffer_frames < face.window_frames


def header_text(face: FaceState) -> str:
    """The card's first line: track, label, confidence and the 'held' tag."""
    return f"#{face.track_id} {face.label} {face.confidence:.0%}" + ("  held" if is_held(face) else "")


def card_size(face: FaceState, class_names: Sequence[str], m: Metrics) -> tuple[int, int]:
    """(width, height) of ``face``'s card."""
    bars_w = m.name_w + m.bar_w + m.gap + m.value_w
    (head_w, _), _ = cv2.getTextSize(header_text(face), FONT, m.font, 1)
    rows = 1 + is_filling(face) + len(class_names)
    return max(bars_w, head_w) + 2 * m.pad, rows * m.row + 2 * m.pad


def _overlap(a: Rect, b: Rect) -> int:
    w = min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0])
    h = min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1])
    return max(0, w) * max(0, h)


def _clamp(x: int, y: int, w: int, h: int, width: int, height: int) -> Rect:
    return (int(np.clip(x, 0, max(0, width - w))), int(np.clip(y, 0, max(0, height - h))), w, h)


def _candidates(box: Rect, size: tuple[int, int], gap: int, width: int, height: int) -> list[Rect]:
    """Card positions around ``box``, nearest first: right, left, below, above, sliding along each side."""
    x, y, w, h = box
    cw, ch = size
    out = []
    for shift in (0.0, 0.5, 1.0, -0.5, 1.5, -1.0, 2.0):
        dy, dx = int(shift * ch), int(shift * cw)
        out += [(x + w + gap, y + dy), (x - gap - cw, y + dy), (x + dx, y + h + gap), (x + dx, y - gap - ch)]
    return [_clamp(cx, cy, cw, ch, width, height) for cx, cy in out]


def layout_cards(boxes: Sequence[Rect], sizes: Sequence[tuple[int, int]], frame_shape: tuple[int, ...],
                 gap: int = 6) -> list[Rect]:
    """One card rectangle per face box: the nearest candidate covering the least of the faces (any of
    them) and of the cards placed before it. Shape: frame_shape (H, W, ...)."""
    height, width = frame_shape[:2]
    placed: list[Rect] = []
    for index, (box, size) in enumerate(zip(boxes, sizes)):
        best, best_cost = None, None
        for rank, rect in enumerate(_candidates(box, size, gap, width, height)):
            covered = sum(_overlap(rect, other) for other in boxes) + sum(_overlap(rect, c) for c in placed)
            cost = (covered, rank)
            if best_cost is None or cost < best_cost:
                best, best_cost = rect, cost
        placed.append(best)
    return placed


def _panel(frame: np.ndarray, rect: Rect, bgr: Sequence[int], alpha: float) -> None:
    x, y, w, h = rect
    roi = frame[max(0, y):y + h, max(0, x):x + w]
    if roi.size:
        roi[:] = (roi * (1.0 - alpha) + np.asarray(bgr, dtype=np.float32) * alpha).astype(np.uint8)


def _text(frame: np.ndarray, text: str, x: int, baseline: int, m: Metrics, bgr: Sequence[int]) -> None:
    """The one way text is drawn: once, thickness 1, anti-aliased."""
    cv2.putText(frame, text, (x, baseline), FONT, m.font, tuple(int(c) for c in bgr), 1, cv2.LINE_AA)


def draw_card(frame: np.ndarray, face: FaceState, class_names: Sequence[str], rect: Rect, m: Metrics) -> None:
    """``face``'s card at ``rect`` (from ``layout_cards``), in place."""
    colour = COLOURS.get(face.label, DEFAULT_COLOUR)
    x, y, w, h = rect
    _panel(frame, rect, PANEL_BGR, PANEL_ALPHA)
    cv2.rectangle(frame, (x, y), (x + w - 1, y + h - 1), colour, 1)
    top = y + m.pad
    cv2.rectangle(frame, (x, y), (x + w - 1, top + m.row - 1), colour, -1)
    text_dy = (m.row + cv2.getTextSize("H", FONT, m.font, 1)[0][1]) // 2
    _text(frame, header_text(face), x + m.pad, top + text_dy, m, text_colour_on(colour))
    top += m.row
    if is_filling(face):
        label = f"filling {face.buffer_frames}/{face.window_frames}"
        _text(frame, label, x + m.pad, top + text_dy, m, DIM_BGR)
        (label_w, _), _ = cv2.getTextSize(label, FONT, m.font, 1)
        bar_x0, bar_x1 = x + m.pad + label_w + m.gap, x + w - m.pad
        if bar_x1 - bar_x0 > 8:
            mid = top + m.row // 2
            done = bar_x0 + int((bar_x1 - bar_x0) * face.buffer_frames / max(1, face.window_frames))
            cv2.line(frame, (bar_x0, mid), (bar_x1, mid), TRACK_BGR, 3)
            cv2.line(frame, (bar_x0, mid), (done, mid), DIM_BGR, 3)
        top += m.row
    for name, p in zip(class_names, face.probabilities):
        p = float(np.clip(p, 0.0, 1.0))
        shown = name == face.label
        _text(frame, name[:3], x + m.pad, top + text_dy, m, TEXT_BGR if shown else DIM_BGR)
        bar_x = x + m.pad + m.name_w
        bar_top, bar_bottom = top + m.row // 5, top + m.row - m.row // 5
        cv2.rectangle(frame, (bar_x, bar_top), (bar_x + m.bar_w, bar_bottom), TRACK_BGR, -1)
        if p > 0:
            cv2.rectangle(frame, (bar_x, bar_top), (bar_x + max(1, int(round(m.bar_w * p))), bar_bottom),
                          COLOURS.get(name, DEFAULT_COLOUR), -1)
        _text(frame, f"{p:.0%}", bar_x + m.bar_w + m.gap, top + text_dy, m, TEXT_BGR if shown else DIM_BGR)
        top += m.row


def draw_outline(frame: np.ndarray, face: FaceState) -> None:
    """``face``'s box (with a dark rim, visible on light and dark backgrounds) and landmarks, in place."""
    colour = COLOURS.get(face.label, DEFAULT_COLOUR)
    x, y, w, h = face.box
    cv2.rectangle(frame, (x, y), (x + w, y + h), (0, 0, 0), 4)
    cv2.rectangle(frame, (x, y), (x + w, y + h), colour, 2)
    if face.landmarks is not None and len(face.landmarks):
        pts = np.round(face.landmarks).astype(np.int32)
        for name, idx in PARTS.items():
            cv2.polylines(frame, [pts[list(idx)]], name in CLOSED_PARTS, colour, 1, cv2.LINE_AA)


def _link(frame: np.ndarray, box: Rect, card: Rect, colour: Sequence[int], gap: int) -> None:
    """A thin line from the card to its box when they do not touch."""
    bx, by, bw, bh = box
    cx, cy, cw, ch = card
    card_point = (int(np.clip(bx + bw // 2, cx, cx + cw)), int(np.clip(by + bh // 2, cy, cy + ch)))
    box_point = (int(np.clip(card_point[0], bx, bx + bw)), int(np.clip(card_point[1], by, by + bh)))
    if abs(card_point[0] - box_point[0]) + abs(card_point[1] - box_point[1]) > gap + 2:
        cv2.line(frame, card_point, box_point, tuple(int(c) for c in colour), 1, cv2.LINE_AA)


def draw_face(frame: np.ndarray, face: FaceState, class_names: Sequence[str]) -> None:
    """Draw one face's box, landmarks and card onto ``frame`` (BGR, in place)."""
    draw_faces_into(frame, [face], class_names)


def draw_faces_into(frame: np.ndarray, faces: Sequence[FaceState], class_names: Sequence[str]) -> None:
    """Draw every face onto ``frame`` (BGR, in place), cards laid out so none covers another face."""
    m = Metrics.for_frame(*frame.shape[:2])
    faces = sorted(faces, key=lambda f: (f.box[0], f.box[1]))
    boxes = [tuple(int(v) for v in f.box) for f in faces]
    cards = layout_cards(boxes, [card_size(f, class_names, m) for f in faces], frame.shape, m.gap)
    for face in faces:
        draw_outline(frame, face)
    for face, box, card in zip(faces, boxes, cards):
        _link(frame, box, card, COLOURS.get(face.label, DEFAULT_COLOUR), m.gap)
        draw_card(frame, face, class_names, card, m)


def draw_faces(frame: np.ndarray, faces: Sequence[FaceState], class_names: Sequence[str]) -> np.ndarray:
    """A copy of ``frame`` with every face drawn."""
    out = frame.copy()
    draw_faces_into(out, faces, class_names)
    return out
