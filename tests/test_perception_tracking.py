"""FaceTracker logic with a fake detector: faces are bright squares, so scenes are exact and fast.

The fake finds squares at least 80 px wide in whatever image it is given (a downscaled frame, a region)
like dlib's HOG window, and its "predictor" snaps to the square overlapping the box, or returns a face
shape filling the box on background (as dlib's predictor does on a non-face).
"""

import cv2
import numpy as np
import pytest

from emotion.perception.detector import Box
from emotion.perception.geometry import box_iou
from emotion.perception.tracking import HOG_MIN_FACE_PX, STAGES, FaceTracker, TrackerConfig


def _template() -> np.ndarray:
    """68 points in the unit square, bounding box exactly [0, 1]^2, eyes 0.4 apart."""
    pts = np.random.default_rng(0).uniform(0.1, 0.9, (68, 2))
    pts[0], pts[16], pts[8], pts[19] = (0, 0.3), (1, 0.3), (0.5, 1), (0.3, 0)
    pts[36:42] = (0.3, 0.35)
    pts[42:48] = (0.7, 0.35)
    return pts


TEMPLATE = _template()


class FakeDetector:
    def __init__(self) -> None:
        self.detect_calls = 0

    @staticmethod
    def _squares(image: np.ndarray) -> list[Box]:
        n, _, stats, _ = cv2.connectedComponentsWithStats((image > 128).astype(np.uint8))
        return [tuple(int(v) for v in stats[i, :4]) for i in range(1, n)]

    def detect(self, image: np.ndarray, upsample: int = 0, threshold: float = 0.0) -> list[Box]:
        self.detect_calls += 1
        return [b for b in self._squares(image) if b[2] * 2 ** upsample >= HOG_MIN_FACE_PX]

    def landmarks(self, gray: np.ndarray, box: Box) -> np.ndarray:
        best = max(self._squares(gray), key=lambda b: box_iou(b, box), default=None)
        x, y, w, h = best if best is not None and box_iou(best, box) > 0.2 else box
        return (TEMPLATE * (w, h) + (x, y)).astype(np.float32)


def scene(squares: list[Box], size: tuple[int, int] = (480, 640)) -> np.ndarray:
    frame = np.zeros((*size, 3), np.uint8)
    for x, y, w, h in squares:
        frame[y:y + h, x:x + w] = 255
    return frame


def run(tracker: FaceTracker, frames: list[np.ndarray]) -> list[list[int]]:
    return [[f.track_id for f in tracker.update(frame, 33 * i)] for i, frame in enumerate(frames)]


def test_static_face_detects_only_on_schedule():
    fake = FakeDetector()
    tracker = FaceTracker(TrackerConfig(detect_every=5, fine_every=4, window=8), fake)
    ids = run(tracker, [scene([(100, 100, 120, 120)])] * 20)
    assert ids == [[1]] * 20
    # searches at frames 0, 5, 10, 15, and at 5, 10, 15 a detection in the face's region (the 120 px face
    # is too small for the coarse search to confirm); following in between needs no detection
    assert fake.detect_calls == 7
    face = tracker.tracks[0]
    assert len(face.buffer) == 8 and face.buffer.window().shape == (8, 68, 2)
    np.testing.assert_allclose(face.landmarks.min(axis=0), (100, 100), atol=1)
    timed = tracker.track(scene([(100, 100, 120, 120)]), 20 * 33)
    assert [f.track_id for f in timed.faces] == [1] and set(timed.stage_ms) == set(STAGES)
    assert timed.stage_ms["landmarks"] > 0 and timed.stage_ms["total"] >= sum(
        timed.stage_ms[s] for s in STAGES if s != "total")


def test_moving_face_keeps_its_id_and_landmarks_follow():
    tracker = FaceTracker(TrackerConfig(detect_every=10), FakeDetector())
    frames = [scene([(50 + 4 * i, 80 + 2 * i, 120, 120)]) for i in range(30)]
    for i, frame in enumerate(frames):
        faces = tracker.update(frame, i)
        assert [f.track_id for f in faces] == [1]
        np.testing.assert_allclose(faces[0].landmarks.min(axis=0), (50 + 4 * i, 80 + 2 * i), atol=1)


def test_face_that_leaves_is_dropped_and_a_returning_face_is_a_new_track():
    config = TrackerConfig(detect_every=3, max_missed=2)
    face, empty = scene([(100, 100, 220, 220)]), scene([])  # big enough to be confirmed by coarse searches
    ids = run(FaceTracker(config, FakeDetector()), [face] * 10 + [empty] * 12 + [face] * 6)
    assert ids[:10] == [[1]] * 10
    # the predictor alone cannot tell that the face left (frames 10-12); the search of frame 12 does,
    # applied to frame 13 (it runs beside frame 12)
    assert ids[10:13] == [[1]] * 3 and not any(ids[13:24])
    assert ids[24:] == [[2]] * 4


def test_face_too_small_for_coarse_searches_is_still_dropped_soon_after_it_leaves():
    config = TrackerConfig(detect_every=5, max_missed=2, fine_every=100)   # only the first search is fine
    face, empty = scene([(100, 100, 120, 120)]), scene([])                 # 60 px in the coarse search
    ids = run(FaceTracker(config, FakeDetector()), [face] * 12 + [empty] * 10)
    assert ids[:12] == [[1]] * 12
    # following alone cannot tell (frames 12-15); the region check when the search of frame 15 is
    # applied (frame 16) can
    assert ids[12:16] == [[1]] * 4 and not any(ids[16:])


def test_a_search_runs_beside_the_frames_and_a_late_one_is_applied_when_it_ends():
    import threading

    from emotion.perception.pool import PerceptionPool

    class BlockedDetector(FakeDetector):
        """Its searches after the first wait until ``release`` is set."""

        def __init__(self) -> None:
            super().__init__()
            self.release, self.searching = threading.Event(), threading.Event()

        def detect(self, image, upsample=0, threshold=0.0):
            if self.detect_calls and max(image.shape) > 300:      # a full-frame search, not a region
                self.searching.set()
                assert self.release.wait(10.0), "the test never released the search"
            return super().detect(image, upsample, threshold)

    one, two = scene([(40, 60, 250, 250)]), scene([(40, 60, 250, 250), (340, 200, 250, 250)])
    pool, fake = PerceptionPool(2), BlockedDetector()
    try:
        tracker = FaceTracker(TrackerConfig(detect_every=3), fake, pool=pool, late_search=True)
        assert [f.track_id for f in tracker.update(one, 0)] == [1]     # nothing tracked: searched at once
        for i in range(1, 12):                                           # the search of frame 3 is stuck
            assert [f.track_id for f in tracker.update(two, 33 * i)] == [1]
        assert fake.searching.is_set()
        fake.release.set()
        for i in range(12, 200):                                         # applied once it has ended
            if len(tracker.update(two, 33 * i)) == 2:
                break
            fake.searching.wait(0.01)
        assert [f.track_id for f in tracker.tracks] == [1, 2]
        # without late_search the search is applied to the next frame, whatever the threads' timing
        tracker = FaceTracker(TrackerConfig(detect_every=3), FakeDetector(), pool=pool)
        assert run(tracker, [one] * 3 + [two] * 3) == [[1]] * 4 + [[1, 2]] * 2
    finally:
        fake.release.set()
        pool.close()


def test_a_frame_that_fails_after_starting_a_search_does_not_stop_the_searches():
    class FailingOnce(FakeDetector):
        fail = False

        def landmarks(self, gray, box):
            if self.fail:
                self.fail = False
                raise RuntimeError("predictor failed")
            return super().landmarks(gray, box)

    fake = FailingOnce()
    tracker = FaceTracker(TrackerConfig(detect_every=3), fake)
    one, two = scene([(40, 60, 250, 250)]), scene([(40, 60, 250, 250), (340, 200, 250, 250)])
    assert run(tracker, [one] * 3) == [[1]] * 3
    fake.fail = True
    with pytest.raises(RuntimeError):
        tracker.update(two, 99)                    # frame 3 starts a search, then fails
    ids = [[f.track_id for f in tracker.update(two, 33 * i)] for i in range(4, 12)]
    assert ids[-1] == [1, 2], ids                  # a later search still finds the second face


def test_two_faces_get_distinct_ids_and_tracks_are_bounded():
    frames = [scene([(40, 60, 120, 120), (380, 200, 130, 130)])] * 6
    assert run(FaceTracker(TrackerConfig(), FakeDetector()), frames) == [[1, 2]] * 6
    assert run(FaceTracker(TrackerConfig(max_tracks=1), FakeDetector()), frames) == [[1]] * 6


def test_small_face_found_by_the_fine_search_survives_coarse_ones():
    frames = [scene([(300, 200, 100, 100)])] * 20  # 50 px in the coarse 320-wide search: invisible there
    assert run(FaceTracker(TrackerConfig(detect_every=2, fine_every=3), FakeDetector()), frames) == [[1]] * 20
    assert not any(run(FaceTracker(TrackerConfig(detect_every=2, fine_every=0), FakeDetector()), frames))


def test_a_jump_triggers_a_region_redetection_that_keeps_the_id():
    fake = FakeDetector()
    tracker = FaceTracker(TrackerConfig(detect_every=100), fake)
    tracker.update(scene([(100, 100, 100, 100)]), 0)
    calls = fake.detect_calls
    faces = tracker.update(scene([(140, 100, 100, 100)]), 33)
    assert fake.detect_calls == calls + 1, "one region re-detection, no full search"
    assert [f.track_id for f in faces] == [1] and faces[0].box == (140, 100, 100, 100)


def test_reset_forgets_tracks_but_never_reuses_ids():
    tracker = FaceTracker(TrackerConfig(), FakeDetector())
    frame = scene([(100, 100, 120, 120)])
    tracker.update(frame, 0)
    tracker.reset()
    assert tracker.tracks == []
    assert [f.track_id for f in tracker.update(frame, 33)] == [2]


@pytest.mark.parametrize("frame", [np.zeros((48, 64, 3), np.float32), np.zeros((48, 64, 4), np.uint8),
                                   np.zeros((48,), np.uint8)])
def test_update_rejects_non_bgr_frames(frame):
    with pytest.raises(ValueError, match="BGR"):
        FaceTracker(TrackerConfig(), FakeDetector()).update(frame, 0)
