"""The emotion classes: the one place that names them and fixes their order."""

EMOTIONS: tuple[str, ...] = ("Happy", "Sad", "Neutral", "Anger", "Surprise")
"""Class names in model output order (index i of a probability vector is EMOTIONS[i])."""

NUM_CLASSES: int = len(EMOTIONS)


def class_index(name: str) -> int:
    """Index of a class name (case-insensitive); ValueError naming the valid ones otherwise."""
    lowered = [e.lower() for e in EMOTIONS]
    try:
        return lowered.index(name.strip().lower())
    except ValueError:
        raise ValueError(f"unknown emotion {name!r}; expected one of {', '.join(EMOTIONS)}") from None
