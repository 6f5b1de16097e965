"""Label styles: the names the component says for its classes (``Labels.Style``), on every interface.

``default`` keeps the model's class names (Happy, Sad, Neutral, Anger, Surprise); ``robocomp2`` uses the
names of RoboComp's previous emotion component, emotionrecognition2 (Happy, Sad, Neutral, Angry,
Surprised), so its clients' string comparisons keep working. The class order never changes.
"""

from typing import Sequence

LABEL_STYLES: dict[str, dict[str, str]] = {
    "default": {},
    "robocomp2": {"Anger": "Angry", "Surprise": "Surprised"},
}


def styled_names(class_names: Sequence[str], style: str) -> dict[str, str]:
    """Model class name -> the name said in ``style`` (names the style does not know stay as they are)."""
    if style not in LABEL_STYLES:
        raise ValueError(f"unknown label style {style!r}; expected one of {', '.join(LABEL_STYLES)}")
    renames = LABEL_STYLES[style]
    return {name: renames.get(name, name) for name in class_names}
