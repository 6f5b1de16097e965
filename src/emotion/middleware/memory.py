"""Resident memory of the component: a bounded oneDNN primitive cache, fewer glibc malloc arenas, free
heap handed back, numba's compiler paged out.

oneDNN (torch's CPU kernels) keeps a compiled primitive for every input shape it has seen, 1024 by
default: with a classification cadence the batch size changes from round to round, and the process grew
by 134-186 MB (measured: 120 predictions of batch 1..20). ``PRIMITIVE_CACHE`` shapes are kept instead
(the ones in use; a miss costs a recompile, not measurable against the forward pass): 5-65 MB. oneDNN
reads the limit when it first runs, so ``limit_process_memory`` must come before the first model call; an
``ONEDNN_PRIMITIVE_CACHE_CAPACITY`` set by the user wins.

Almost all of that growth is memory already freed (``malloc_trim`` brings either case back to 0-5 MB, in
~2 ms): the activations of a large batch are freed between calls, but glibc returns free heap to the
system by itself only from the top of a heap, which anything allocated later (a primitive, a buffer)
pins. How much stays depends on where the last allocations fell, hence the wide range; ``HeapRelease``
hands it back at most once per ``HEAP_RELEASE_INTERVAL_S``, so the component's resident size follows what
it holds.

glibc gives each thread that allocates under contention an arena of its own (up to 8 per core), and each
keeps the pages it once used: with Ice's threads and the perception pool that is tens of MB for nothing.
Numpy arrays and dlib images are short-lived and freed in the thread that made them, so two arenas do.

numba's compiler (LLVM, ~106 MB of ``libllvmlite.so``) is read in whole by its static initialisers when
numba is imported, but once the shape predictor is compiled (or loaded from numba's cache) it is not
used again: ``release_compiler_pages`` hands those clean, file-backed pages back to the kernel
(``madvise(MADV_PAGEOUT)``, Linux 5.4+), which reads back any page that is needed later.
"""

import ctypes
import ctypes.util
import os
import time

M_ARENA_MAX: int = -8
"""glibc's mallopt parameter number of the arena limit (malloc.h)."""
MADV_PAGEOUT: int = 21
"""Linux's madvise advice that reclaims a range's pages now (mman.h)."""
COMPILER_LIBRARY: str = "libllvmlite"
"""The file name part of numba's compiler library in /proc/self/maps."""
ARENAS: int = 2
PRIMITIVE_CACHE: int = 16
PRIMITIVE_CACHE_VARIABLE: str = "ONEDNN_PRIMITIVE_CACHE_CAPACITY"
HEAP_RELEASE_INTERVAL_S: float = 10.0
"""Least time between two hand-backs of free heap (each ~2 ms with the model loaded)."""


def _libc() -> ctypes.CDLL | None:
    """The C library, or None where it cannot be loaded."""
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    except OSError:
        return None


def limit_malloc_arenas(count: int = ARENAS) -> bool:
    """Limit glibc to ``count`` malloc arenas from now on; False where the C library is not glibc."""
    if count < 1:
        raise ValueError(f"arena count must be >= 1, got {count}")
    libc = _libc()
    mallopt = getattr(libc, "mallopt", None)
    if mallopt is None:
        return False
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    return mallopt(M_ARENA_MAX, count) == 1


def release_free_heap() -> bool:
    """Hand glibc's free heap pages back to the system now (``malloc_trim(0)``); False where nothing was
    released or the C library is not glibc."""
    trim = getattr(_libc(), "malloc_trim", None)
    if trim is None:
        return False
    trim.argtypes, trim.restype = (ctypes.c_size_t,), ctypes.c_int
    return trim(0) == 1


class HeapRelease:
    """``release_free_heap`` at most once per ``interval_s``, for a loop to call every round."""

    def __init__(self, interval_s: float = HEAP_RELEASE_INTERVAL_S) -> None:
        if interval_s < 0:
            raise ValueError(f"heap release interval must be >= 0 s, got {interval_s}")
        self.interval_s = interval_s
        self._last = time.monotonic()

    def tick(self) -> bool:
        """Release the free heap if ``interval_s`` has passed since the last time; True when it ran."""
        now = time.monotonic()
        if now - self._last < self.interval_s:
            return False
        self._last = now
        release_free_heap()
        return True


def release_compiler_pages() -> int:
    """Page out numba's compiler library (see the module docstring); the bytes advised, 0 where this
    system cannot (no /proc, no MADV_PAGEOUT, not loaded)."""
    libc = _libc()
    if libc is None or not hasattr(libc, "madvise"):
        return 0
    libc.madvise.argtypes, libc.madvise.restype = (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int), ctypes.c_int
    released = 0
    try:
        with open("/proc/self/maps") as maps:
            ranges = [line.split()[0] for line in maps if COMPILER_LIBRARY in line]
    except OSError:
        return 0
    for span in ranges:
        start, end = (int(v, 16) for v in span.split("-"))
        if libc.madvise(start, end - start, MADV_PAGEOUT) == 0:
            released += end - start
    return released


def limit_process_memory() -> None:
    """Both limits of this module, for a long-running process (before its first model call)."""
    os.environ.setdefault(PRIMITIVE_CACHE_VARIABLE, str(PRIMITIVE_CACHE))
    limit_malloc_arenas()
