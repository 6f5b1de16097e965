"""The overlay: cards beside their faces covering no other face, each string drawn once, marks for a
filling buffer and a held label, readable on light and dark backgrounds."""

from types import SimpleNamespace

import cv2
import numpy as np
import pytest

from emotion import drawing
from emotion.classes import EMOTIONS
from emotion.datasets.video import read_image
from emotion.drawing import Metrics, card_size, draw_faces, header_text, layout_cards
from emotion.paths import shared_media
from emotion.perception.detector import LandmarkDetector
from emotion.perception.tracking import FaceTracker, TrackerConfig
from emotion.states import FaceState

MULTI = shared_media("multi_face.jpg")


def face(track_id: int, box, label: str = "Happy", buffer_frames: int = 45, **extra) -> FaceState:
    """A FaceState with probabilities peaking at ``label`` (other fields such as ``held`` from ``extra``)."""
    probs = np.full(len(EMOTIONS), 0.05, dtype=np.float32)
    probs[EMOTIONS.index(label)] = 1.0 - 0.05 * (len(EMOTIONS) - 1)
    return FaceState(track_id=track_id, box=tuple(box), landmarks=np.zeros((0, 2), np.float32), label=label,
                     probabilities=probs, confidence=float(probs.max()), buffer_frames=buffer_frames,
                     window_frames=45, timestamp_ms=0, **extra)


def overlap(a, b) -> int:
    w = min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0])
    h = min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1])
    return max(0, w) * max(0, h)


def cards_for(faces, shape):
    m = Metrics.for_frame(*shape[:2])
    return layout_cards([f.box for f in faces], [card_size(f, EMOTIONS, m) for f in faces], shape, m.gap)


def assert_clear(faces, cards, shape):
    height, width = shape[:2]
    for i, card in enumerate(cards):
        x, y, w, h = card
        assert 0 <= x and 0 <= y and x + w <= width and y + h <= height, f"card {card} leaves the frame"
        for j, other in enumerate(faces):
            assert overlap(card, other.box) == 0, f"card of face {i} {card} covers face {j} {other.box}"
        for j, other in enumerate(cards[:i]):
            assert overlap(card, other) == 0, f"cards {i} and {j} overlap: {card}, {other}"


@pytest.mark.skipif(not MULTI.is_file(), reason=f"real media missing: {MULTI}")
def test_cards_cover_no_face_on_the_real_multi_face_photo():
    image = read_image(MULTI)
    tracked = FaceTracker(TrackerConfig(), LandmarkDetector()).update(image, 0)
    assert len(tracked) >= 4
    faces = [face(t.track_id, t.box, label) for t, label in zip(tracked, EMOTIONS * 2)]
    assert_clear(faces, cards_for(faces, image.shape), image.shape)


def test_eight_faces_in_a_vga_frame_get_clear_cards():
    shape = (480, 640, 3)
    faces = [face(i + 1, (40 + 150 * (i % 4), 60 + 230 * (i // 4), 60, 60), EMOTIONS[i % 5]) for i in range(8)]
    assert_clear(faces, cards_for(faces, shape), shape)


def test_card_flips_to_the_left_at_the_right_edge_and_sits_beside_the_box():
    shape = (360, 640, 3)
    right = face(1, (520, 100, 110, 110))
    [card] = cards_for([right], shape)
    assert card[0] + card[2] <= 520 and abs(card[0] + card[2] - 520) <= 10, card
    left = face(2, (10, 100, 110, 110))
    [card] = cards_for([left], shape)
    assert card[0] >= 120 and card[0] - 120 <= 10, card


def test_every_string_is_drawn_once_thin_and_bars_carry_their_numbers(monkeypatch):
    calls = []
    real = cv2.putText

    def spy(img, text, org, font, scale, colour, thickness=1, line_type=cv2.LINE_8, *rest):
        calls.append((text, tuple(org), thickness))
        return real(img, text, org, font, scale, colour, thickness, line_type, *rest)

    monkeypatch.setattr(drawing.cv2, "putText", spy)
    state = face(3, (200, 100, 100, 100), "Sad")
    draw_faces(np.zeros((360, 640, 3), np.uint8), [state], EMOTIONS)
    texts = [text for text, _, _ in calls]
    places = [(text, org) for text, org, _ in calls]
    assert len(places) == len(set(places)), f"a string drawn twice at one place: {places}"
    assert {thickness for _, _, thickness in calls} == {1}
    for p in state.probabilities:
        assert f"{p:.0%}" in texts
    assert header_text(state) in texts


def test_filling_and_held_marks():
    shape = (360, 640, 3)
    full = face(1, (200, 100, 100, 100))
    filling = face(1, (200, 100, 100, 100), buffer_frames=7)
    held = face(1, (200, 100, 100, 100), held=True)
    assert "held" in header_text(held) and "held" not in header_text(full)
    bare = SimpleNamespace(**{k: v for k, v in vars(full).items() if k != "held"})
    assert "held" not in header_text(bare)  # drawing works with states that have no ``held`` field at all
    m = Metrics.for_frame(*shape[:2])
    assert card_size(filling, EMOTIONS, m)[1] == card_size(full, EMOTIONS, m)[1] + m.row
    frames = {name: draw_faces(np.zeros(shape, np.uint8), [f], EMOTIONS) for name, f in
              (("full", full), ("filling", filling), ("held", held))}
    assert np.any(frames["held"] != frames["full"]) and np.any(frames["filling"] != frames["full"])


@pytest.mark.parametrize("background", [0, 255])
def test_card_text_contrasts_on_black_and_white(background):
    shape = (360, 640, 3)
    state = face(1, (200, 100, 100, 100), "Neutral")
    [card] = cards_for([state], shape)
    out = draw_faces(np.full(shape, background, np.uint8), [state], EMOTIONS)
    x, y, w, h = card
    m = Metrics.for_frame(*shape[:2])
    body = cv2.cvtColor(out[y + m.pad + m.row:y + h - m.pad, x + 1:x + w - 1], cv2.COLOR_BGR2GRAY)
    panel = np.median(body)
    assert panel < 80, f"panel median {panel} on background {background}"
    assert body.max() - panel > 150, "text does not stand out from its panel"


def test_drawing_a_state_duck_typed_from_the_wire():
    """Listener states and engine states are drawn the same way; anything with FaceState's fields works."""
    state = SimpleNamespace(**vars(face(1, (50, 50, 80, 80), held=False)))
    out = draw_faces(np.zeros((240, 320, 3), np.uint8), [state], EMOTIONS)
    assert out.any()
