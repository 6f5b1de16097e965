"""emotion.middleware.memory: the component's limits keep the model's memory flat while the batch size
changes (as it does under a classification cadence); measured in fresh processes."""

import subprocess
import sys

import pytest

from emotion.middleware.memory import (PRIMITIVE_CACHE_VARIABLE, HeapRelease, limit_malloc_arenas,
                                      limit_process_memory)

GROWTH = """
import sys, numpy as np, psutil
from emotion.middleware.memory import limit_process_memory, release_free_heap
component = sys.argv[2] == "component"
if component:
    limit_process_memory()
from emotion.inference import EmotionClassifier
classifier = EmotionClassifier.from_checkpoint(sys.argv[1], threads=1)
rng = np.random.default_rng(0)
classifier.predict(rng.random((1, classifier.window, 68, 2), dtype=np.float32) * 300)
before = psutil.Process().memory_info().rss
for i in range(120):
    classifier.predict(rng.random((1 + i % 20, classifier.window, 68, 2), dtype=np.float32) * 300)
if component:
    release_free_heap()  # what the component's HeapRelease does every HEAP_RELEASE_INTERVAL_S
print((psutil.Process().memory_info().rss - before) / 2**20)
"""

PINNED_HEAP = """
import psutil
from emotion.middleware.memory import release_free_heap
blocks = [b"x" * (64 * 1024) for _ in range(2000)]  # 125 MiB of heap, written (under the mmap threshold)
pin = bytes(64 * 1024)                               # above them: the heap cannot shrink from its top
del blocks
before = psutil.Process().memory_info().rss
released = release_free_heap()
print(released, (before - psutil.Process().memory_info().rss) / 2**20)
"""


def growth_mb(weights, mode: str) -> float:
    env = {k: v for k, v in __import__("os").environ.items() if k != PRIMITIVE_CACHE_VARIABLE}
    result = subprocess.run([sys.executable, "-c", GROWTH, str(weights), mode], capture_output=True, text=True,
                            timeout=180, env={**env, "OMP_NUM_THREADS": "1"})
    assert result.returncode == 0, result.stderr
    return float(result.stdout.split()[-1])


def test_component_limits_keep_memory_flat(random_weights):
    plain, component = growth_mb(random_weights, "plain"), growth_mb(random_weights, "component")
    assert component < 20 and plain > component + 40, (plain, component)


def test_free_heap_goes_back_to_the_system():
    result = subprocess.run([sys.executable, "-c", PINNED_HEAP], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    released, dropped_mb = result.stdout.split()
    assert released == "True" and float(dropped_mb) > 100, (released, dropped_mb)


def test_heap_release_runs_once_per_interval():
    assert HeapRelease(0.0).tick() is True
    waiting = HeapRelease(3600.0)
    assert waiting.tick() is False and waiting.tick() is False
    try:
        HeapRelease(-1.0)
    except ValueError as exc:
        assert "interval" in str(exc)
    else:
        raise AssertionError("a negative interval accepted")


def test_limits_apply_in_this_process(monkeypatch):
    monkeypatch.delenv(PRIMITIVE_CACHE_VARIABLE, raising=False)
    limit_process_memory()
    assert int(__import__("os").environ[PRIMITIVE_CACHE_VARIABLE]) > 0
    assert limit_malloc_arenas(4) is True  # glibc here
    try:
        limit_malloc_arenas(0)
    except ValueError as exc:
        assert "arena" in str(exc)
    else:
        raise AssertionError("0 arenas accepted")


PAGEOUT = """
import numpy as np
from emotion.middleware.memory import COMPILER_LIBRARY, release_compiler_pages
from emotion.perception.detector import LandmarkDetector

def resident_kb():
    total, inside = 0, False
    for line in open("/proc/self/smaps"):
        fields = line.split()
        if "-" in fields[0] and len(fields) >= 5:
            inside = len(fields) > 5 and COMPILER_LIBRARY in fields[5]
        elif inside and fields[0] in ("Private_Clean:", "Private_Dirty:"):  # shared pages stay, by design
            total += int(fields[1])
    return total

detector = LandmarkDetector()
gray = np.full((120, 120), 90, np.uint8)
before = detector.landmarks(gray, (10, 10, 100, 100))
loaded = resident_kb()
released = release_compiler_pages()
after = resident_kb()
same = bool((detector.landmarks(gray, (10, 10, 100, 100)) == before).all())
print(loaded, released, after, same)
"""


def test_compiler_pages_go_back_once_the_predictor_is_compiled():
    result = subprocess.run([sys.executable, "-c", PAGEOUT], capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr
    loaded, released, after, same = result.stdout.split()
    assert int(loaded) > 10_000, f"numba's compiler should be loaded ({loaded} KiB resident in this process alone)"
    if int(released) == 0:
        pytest.skip("this kernel cannot page out (no MADV_PAGEOUT)")
    assert int(after) < int(loaded) / 4, (loaded, after)
    assert same == "True", "the predictor must still run, compiled, after its compiler is paged out"
