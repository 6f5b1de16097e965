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


ALIASES: dict[str, str] = {
    "happy": "Happy", "happiness": "Happy", "joy": "Happy",
    "sad": "Sad", "sadness": "Sad",
    "neutral": "Neutral",
    "anger": "Anger", "angry": "Anger",
    "surprise": "Surprise", "surprised": "Surprise",
}
"""Label spellings of other datasets and components -> class name (lower-case keys)."""


def class_from_alias(label: str) -> int | None:
    """Index of the class a dataset label means (any case, ``ALIASES``), None for an emotion without a class
    here (disgust, fear, contempt, anything else)."""
    name = ALIASES.get(label.strip().lower())
    return None if name is None else EMOTIONS.index(name)


MAX_CLASSES: int = 256


def check_class_names(names: object, error: type[Exception]) -> tuple[str, ...]:
    """``names`` as a tuple when it is a list of 2..MAX_CLASSES distinct short strings, else ``error``."""
    if (not isinstance(names, (list, tuple)) or not 2 <= len(names) <= MAX_CLASSES
            or not all(isinstance(n, str) and 0 < len(n) <= 100 for n in names)):
        shown = repr(names)
        shown = shown if len(shown) <= 80 else shown[:80] + "..."
        raise error(f"class names must be a list of 2..{MAX_CLASSES} non-empty strings of at most 100 "
                    f"characters, got {shown}")
    if len(set(names)) != len(names):
        raise error(f"class names must be distinct, got {list(names)}")
    return tuple(names)
