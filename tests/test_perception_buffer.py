"""LandmarkBuffer: ring order, padding, timestamps, bad input."""

import numpy as np
import pytest

from emotion.perception.buffer import LandmarkBuffer


def frame(value: float) -> np.ndarray:
    return np.full((68, 2), value, dtype=np.float32)


def test_short_buffer_pads_with_its_earliest_frame():
    buf = LandmarkBuffer(capacity=5)
    buf.append(frame(1), 10)
    buf.append(frame(2), 20)
    window = buf.window()
    assert window.shape == (5, 68, 2) and window.dtype == np.float32
    np.testing.assert_array_equal(window[:, 0, 0], [1, 1, 1, 1, 2])
    assert buf.window(pad=False).shape == (2, 68, 2)
    np.testing.assert_array_equal(buf.timestamps, [10, 20])


def test_full_buffer_keeps_the_last_capacity_frames_oldest_first():
    buf = LandmarkBuffer(capacity=4)
    for i in range(11):
        buf.append(frame(i), 100 * i)
    assert len(buf) == 4
    np.testing.assert_array_equal(buf.window()[:, 0, 0], [7, 8, 9, 10])
    np.testing.assert_array_equal(buf.timestamps, [700, 800, 900, 1000])
    np.testing.assert_array_equal(buf.latest, frame(10))


def test_window_is_a_copy():
    buf = LandmarkBuffer(capacity=3)
    buf.append(frame(1), 0)
    buf.window()[:] = 99
    assert buf.latest[0, 0] == 1


def test_clear_empties():
    buf = LandmarkBuffer(capacity=3)
    buf.append(frame(1), 0)
    buf.clear()
    assert len(buf) == 0
    with pytest.raises(ValueError, match="empty"):
        buf.window()


@pytest.mark.parametrize("capacity", [0, -1, 2.5, True, "45"])
def test_bad_capacity(capacity):
    with pytest.raises(ValueError, match="capacity"):
        LandmarkBuffer(capacity)


@pytest.mark.parametrize("points, reason", [(np.zeros((67, 2)), "shape"), (np.zeros((68, 3)), "shape"),
                                             (np.full((68, 2), np.nan), "NaN")])
def test_bad_frames_rejected(points, reason):
    with pytest.raises(ValueError, match=reason):
        LandmarkBuffer(3).append(points, 0)
