"""Reading a CSV table of a data set (a manifest, a photo list) with bounded fields and one-line errors."""

import csv
from pathlib import Path

MAX_FIELD_CHARS: int = 4096
"""Longest CSV field accepted (a path or a label; Python's csv default is 128 KiB)."""


def read_table(path: Path) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    """(header, [(line, row)]) of a UTF-8 CSV file, fields stripped; ValueError (one line) for a field over
    MAX_FIELD_CHARS, malformed CSV or text that is not UTF-8."""
    csv.field_size_limit(MAX_FIELD_CHARS)
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            header = [name.strip() for name in reader.fieldnames or []]
            rows = [(line, {(k or "").strip(): (v or "").strip() for k, v in row.items() if isinstance(v, str)})
                    for line, row in enumerate(reader, start=2)]
    except csv.Error as exc:
        raise ValueError(f"{path}: not a readable CSV (fields are limited to {MAX_FIELD_CHARS} characters): "
                         f"{exc}") from None
    except UnicodeDecodeError:
        raise ValueError(f"{path}: not a UTF-8 text file") from None
    return header, rows
