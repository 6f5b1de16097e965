"""Threads for perception: cameras in parallel, and the faces of each camera in parallel.

dlib's detector and the shape predictor (``emotion.perception.ert``) release the GIL, so threads, not
processes, spread perception over the cores (``LandmarkDetector`` is thread-safe). Four
executors, so a camera's task that maps over its faces never waits for a thread held by another camera's
task (one shared executor could deadlock), a search running beside the frames (``background``) never
holds a thread the frames need, and a frame decoded on arrival (``decode``), which a camera's task may
wait for, never waits behind one.
"""

from __future__ import annotations

import os
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Callable, Iterable, TypeVar

T = TypeVar("T")
R = TypeVar("R")


def available_cores() -> int:
    """The CPUs this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


class PerceptionPool:
    """``threads`` workers over cameras and as many over faces; ``threads = 1`` runs everything inline.

    ``threads = 0`` sizes it from the cores (``available_cores()``).
    """

    def __init__(self, threads: int = 0) -> None:
        if threads < 0:
            raise ValueError(f"perception threads must be >= 0, got {threads}")
        self.threads = threads or available_cores()
        parallel = self.threads > 1
        self._cameras = ThreadPoolExecutor(self.threads, "perception-camera") if parallel else None
        self._faces = ThreadPoolExecutor(self.threads, "perception-face") if parallel else None
        self._background = ThreadPoolExecutor(self.threads, "perception-search") if parallel else None
        self._decoding = ThreadPoolExecutor(self.threads, "perception-decode") if parallel else None

    @staticmethod
    def _map(executor: ThreadPoolExecutor | None, fn: Callable[[T], R], items: Iterable[T]) -> list[R]:
        items = list(items)
        if executor is None or len(items) < 2:
            return [fn(item) for item in items]
        return list(executor.map(fn, items))

    def map_cameras(self, fn: Callable[[T], R], items: Iterable[T]) -> list[R]:
        """``[fn(item) for item in items]``, one camera per thread, results in order."""
        return self._map(self._cameras, fn, items)

    def map_faces(self, fn: Callable[[T], R], items: Iterable[T]) -> list[R]:
        """``[fn(item) for item in items]``, one face per thread, results in order."""
        return self._map(self._faces, fn, items)

    def background(self, fn: Callable[..., R], *args) -> "Future[R]":
        """``fn(*args)`` on a thread of its own, beside the caller; without threads it runs now and the
        future is done when this returns (its exception, if any, raised by ``.result()``)."""
        return self._submit(self._background, fn, *args)

    def decode(self, fn: Callable[..., R], *args) -> "Future[R]":
        """``fn(*args)`` (a frame's decoding, started when it arrives) like ``background``, on threads of
        their own."""
        return self._submit(self._decoding, fn, *args)

    @staticmethod
    def _submit(executor: ThreadPoolExecutor | None, fn: Callable[..., R], *args) -> "Future[R]":
        if executor is not None:
            return executor.submit(fn, *args)
        future: Future[R] = Future()
        try:
            future.set_result(fn(*args))
        except Exception as exc:  # handed to whoever takes the result, as the threads would
            future.set_exception(exc)
        return future

    def close(self) -> None:
        """Stop the threads (after the running tasks)."""
        for executor in (self._cameras, self._faces, self._background, self._decoding):
            if executor is not None:
                executor.shutdown(wait=True)


INLINE = PerceptionPool(1)
"""No threads: everything runs in the caller's thread."""


THREADS_KEY: str = "Threads.Perception"
"""The component config key of the perception threads."""
DEFAULT_THREADS: int = 0
"""Perception threads unless configured: one per core."""


def load_perception_threads(path=None) -> int:
    """The component's perception threads (``THREADS_KEY`` of the config at ``path``, default etc/config);
    0 = one per core. ValueError naming the file for a bad value."""
    from emotion.middleware.config import load_config
    from emotion.paths import COMPONENT_CONFIG

    config = load_config(path or COMPONENT_CONFIG)
    value = config.get(THREADS_KEY, DEFAULT_THREADS)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{config.path}: {THREADS_KEY} must be an int >= 0, got {value!r}")
    return value
