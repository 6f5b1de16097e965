"""The live search budget: the search interval stretches when searches take more than their share of a core."""

import pytest

from emotion.perception.search_budget import MAX_SEARCHES, WINDOW_S, SearchBudget
from emotion.perception.tracking import FaceTracker, TrackerConfig
from tests.test_cadence import Clock
from tests.test_perception_tracking import FakeDetector, run, scene


def searches(budget: SearchBudget, clock: Clock, per_s: float, ms: float, seconds: float) -> None:
    """Searches of ``ms`` each at ``per_s`` a second of the unstretched schedule (fewer when stretched)."""
    end = clock.now + seconds
    while clock.now < end:
        clock.now += budget.stretch / per_s
        budget.record(ms)


def test_light_searches_keep_the_interval():
    clock = Clock()
    budget = SearchBudget(0.15, 3, clock)
    searches(budget, clock, per_s=3, ms=15, seconds=10)      # one camera: 45 ms/s, a third of the share
    assert budget.stretch == 1


def test_heavy_searches_stretch_the_interval_and_it_comes_back():
    clock = Clock()
    budget = SearchBudget(0.15, 3, clock)
    searches(budget, clock, per_s=12, ms=20, seconds=10)     # four cameras: 240 ms/s of unstretched searches
    assert budget.stretch == 2
    searches(budget, clock, per_s=12, ms=40, seconds=10)     # 480 ms/s: more than 3x the share, held at 3
    assert budget.stretch == 3
    searches(budget, clock, per_s=3, ms=15, seconds=2 * WINDOW_S)
    assert budget.stretch == 1


def test_memory_is_bounded_and_bad_settings_are_refused():
    clock = Clock()
    budget = SearchBudget(0.15, 3, clock)
    for _ in range(3 * MAX_SEARCHES):
        budget.record(1.0)                                   # a burst at one instant
    assert len(budget._searches) == MAX_SEARCHES
    for share, stretch in ((0.0, 3), (1.5, 3), (float("nan"), 3), (0.1, 0)):
        with pytest.raises(ValueError):
            SearchBudget(share, stretch)
    with pytest.raises(ValueError, match="search_share"):
        TrackerConfig(search_share=0.0)


def test_a_tracker_searches_less_often_when_its_budget_stretches():
    budget = SearchBudget(0.15, 3, Clock())                  # time stands still: the load stays in the window
    for _ in range(100):
        budget.record(40.0)                                   # other cameras' heavy searches
    assert budget.stretch == 3
    plain, stretched = FakeDetector(), FakeDetector()
    frames = [scene([(100, 100, 200, 200)])] * 60
    config = TrackerConfig(detect_every=5, coarse_max_side=0, fine_every=0, window=8)
    assert run(FaceTracker(config, plain), frames) == run(FaceTracker(config, stretched, budget=budget), frames)
    assert plain.detect_calls == 12 and stretched.detect_calls == 4   # frames 0, 5, 10 ... against 0, 15, 30, 45
