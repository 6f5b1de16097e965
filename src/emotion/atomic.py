"""Files written so that a kill at any moment leaves either the old file or the new one, never a part.

``write_atomic(path)`` yields a temporary name beside ``path`` (same folder, same suffix, so writers that
go by the suffix, such as ``np.savez`` and ``savefig``, behave the same); when the block ends the file is
flushed to disk and renamed over ``path``; when it raises, the temporary file is removed.
"""

import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator


def temporary_name(path: Path) -> Path:
    """Where ``path`` is written before the rename (hidden, per process, same suffix)."""
    return path.with_name(f".{path.stem}.tmp{os.getpid()}{path.suffix}")


@contextmanager
def write_atomic(path: str | Path) -> Iterator[Path]:
    """``with write_atomic(out) as tmp: write(tmp)``: ``out`` appears complete or not at all."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_name(path)
    try:
        yield tmp
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_text_atomic(path: str | Path, text: str) -> Path:
    """``path`` replaced by ``text`` (UTF-8) atomically."""
    path = Path(path)
    with write_atomic(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return path
