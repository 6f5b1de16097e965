"""Offline analysis at full speed: the component's engine over many inputs, on every core.

``Analyzer`` builds the model and dlib's detector and predictor once (the ~1-2 s that used to be paid
per input) and runs one input at a time through a fresh ``EmotionEngine`` (fresh tracks, the same
tracker, smoothing and cadence settings as the component). A video's frames are decoded in a thread
ahead of the pipeline (``prefetch``). ``analyze_all`` spreads inputs over ``jobs`` processes (each with
one ``Analyzer``, built once) and yields the results in input order, so the CSV does not depend on
``jobs``.
"""

from __future__ import annotations

import multiprocessing
import queue
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator, Sequence, TypeVar

import numpy as np

from emotion.cadence import CadenceConfig, ClassifyCadence
from emotion.perception.tracking import TrackerConfig
from emotion.smoothing import SmoothingConfig
from emotion.states import FaceState

T = TypeVar("T")
FrameCallback = Callable[[str, int, float, list[FaceState]], None]
"""``(source, frame index, time_s, states)`` of one analysed frame."""
PREFETCH_FRAMES: int = 8
"""Decoded frames kept ready ahead of the pipeline (a bounded queue: memory stays flat)."""


def prefetch(items: Iterable[T], depth: int = PREFETCH_FRAMES) -> Iterator[T]:
    """``items`` produced by a background thread, at most ``depth`` ahead; its exceptions re-raised here.

    OpenCV decodes without the GIL, so decoding the next frames overlaps the work on this one.
    """
    slots: queue.Queue = queue.Queue(maxsize=depth)
    done = object()
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in items:
                while not stop.is_set():
                    try:
                        slots.put((item, None), timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            slots.put((done, None))
        except BaseException as exc:  # handed to the consumer, raised there
            slots.put((done, exc))

    thread = threading.Thread(target=produce, name="prefetch", daemon=True)
    thread.start()
    try:
        while True:
            item, error = slots.get()
            if error is not None:
                raise error
            if item is done:
                return
            yield item
    finally:
        stop.set()
        thread.join(timeout=5.0)


@dataclass(frozen=True)
class AnalysisSettings:
    """What every input is analysed with (picklable: sent once to each worker process)."""

    weights: Path
    tracking: TrackerConfig
    smoothing: SmoothingConfig
    cadence: CadenceConfig
    fps: float
    perception_threads: int = 1
    """Threads of the ``PerceptionPool`` over the faces of a frame (one process per core needs 1)."""


@dataclass
class InputResult:
    """One input's analysis: its face states per frame (frame index, time_s, faces)."""

    source: str
    frames: int = 0
    faces: list[tuple[int, float, list[FaceState]]] = field(default_factory=list)
    error: str | None = None


class Analyzer:
    """The model, detector and predictor of one process; ``analyze(source)`` for each input."""

    def __init__(self, settings: AnalysisSettings) -> None:
        import cv2

        from emotion.classifier import load_classifier
        from emotion.middleware.memory import limit_process_memory, release_compiler_pages
        from emotion.perception.detector import LandmarkDetector
        from emotion.perception.pool import PerceptionPool

        cv2.setNumThreads(1)  # parallelism comes from the processes, the decode thread and the pool
        limit_process_memory()  # before the model's first call
        self.settings = settings
        self.classifier = load_classifier(settings.weights, threads=1)
        self.detector = LandmarkDetector()
        release_compiler_pages()
        self.pool = PerceptionPool(settings.perception_threads)

    def analyze(self, source: str, video_out: Path | None = None, on_frame: FrameCallback | None = None) -> InputResult:
        """Every frame of ``source`` through a fresh engine; annotated frames to ``video_out`` if given,
        ``on_frame(source, index, time_s, states)`` after each frame."""
        from emotion.datasets.video import iter_frames, source_fps
        from emotion.drawing import draw_faces
        from emotion.engine import EmotionEngine, FrameJob, process_frames
        from emotion.video_writer import VideoWriter

        s = self.settings
        engine = EmotionEngine(self.classifier, s.tracking, s.smoothing, detector=self.detector, pool=self.pool)
        cadence = ClassifyCadence(s.cadence)
        result = InputResult(source)
        video = None
        try:
            for index, time_s, frame in prefetch(iter_frames(source, fps=s.fps)):
                states = process_frames([FrameJob(engine, frame, int(round(time_s * 1000)))], self.pool,
                                        cadence).states[0]
                result.faces.append((index, time_s, states))
                result.frames += 1
                if video_out is not None:
                    if video is None:
                        video = VideoWriter(video_out, source_fps(source, s.fps), (frame.shape[1], frame.shape[0]))
                    video.write(draw_faces(frame, states, self.classifier.class_names))
                if on_frame is not None:
                    on_frame(source, index, time_s, states)
        finally:
            if video is not None:
                video.close()
        return result


_ANALYZER: Analyzer | None = None


def _init_worker(settings: AnalysisSettings) -> None:
    global _ANALYZER
    _ANALYZER = Analyzer(settings)


def _analyze_job(job: tuple[str, Path | None]) -> InputResult:
    source, video_out = job
    try:
        return _ANALYZER.analyze(source, video_out)
    except (OSError, ValueError) as exc:
        return InputResult(source, error=f"{type(exc).__name__}: {exc}")


def in_process(inputs: Sequence, jobs: int) -> bool:
    """Whether ``analyze_all`` runs in this process (one input or one job) rather than in workers."""
    return jobs == 1 or len(inputs) == 1


def analyze_all(settings: AnalysisSettings, inputs: Sequence[tuple[str, Path | None]], jobs: int,
                on_frame: FrameCallback = lambda *frame: None, analyzer: Analyzer | None = None
                ) -> Iterator[InputResult]:
    """Each ``(source, video_out)`` analysed, results in input order; ``on_frame`` for every frame, in
    input and frame order.

    One input or ``jobs = 1``: in this process, ``on_frame`` as each frame is done. Else
    ``min(jobs, len(inputs))`` worker processes (spawned: a forked copy of a process with torch's threads
    can deadlock), each building its ``Analyzer`` once; ``on_frame`` then runs for an input's frames
    when its result arrives. ``analyzer``: the one of this process, when already built. The caller checks
    the checkpoint first in worker mode (a worker that cannot start is restarted by the pool forever).
    """
    if jobs < 1:
        raise ValueError(f"jobs must be >= 1, got {jobs}")
    if in_process(inputs, jobs):
        analyzer = analyzer or Analyzer(settings)
        for source, video_out in inputs:
            try:
                yield analyzer.analyze(source, video_out, on_frame)
            except (OSError, ValueError) as exc:
                yield InputResult(source, error=f"{type(exc).__name__}: {exc}")
        return
    workers = min(jobs, len(inputs))
    chunk = max(1, min(16, len(inputs) // (workers * 8)))
    context = multiprocessing.get_context("spawn")
    with context.Pool(workers, initializer=_init_worker, initargs=(settings,)) as pool:
        for result in pool.imap(_analyze_job, inputs, chunksize=chunk):
            for index, time_s, states in result.faces:
                on_frame(result.source, index, time_s, states)
            yield result
        pool.close()  # workers exit on their own: terminating them (the with's exit) can leak their semaphores
        pool.join()


def probabilities_series(result: InputResult) -> dict[tuple[str, int], list[tuple[float, np.ndarray]]]:
    """Each track's (time_s, probabilities) over the input, for ``plot_probability_timelines``."""
    series: dict[tuple[str, int], list[tuple[float, np.ndarray]]] = {}
    for _, time_s, states in result.faces:
        for face in states:
            series.setdefault((result.source, face.track_id), []).append((time_s, face.probabilities))
    return series
