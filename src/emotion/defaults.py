"""Defaults that belong to no single stage (importing this module loads nothing heavy).

Each stage's own defaults live on its config class (``TrackerConfig``, ``SmoothingConfig``,
``ModelConfig``, ...); the component's deployed values are in etc/config, and tools that run the
component's pipeline read that file (``emotion.perception.tracking.load_tracker_config``).
"""

WINDOW: int = 45
"""Frames per landmark window (T) of new data sets and training runs. At run time the checkpoint's own
window rules: the component and ``analyze`` size their buffers from the loaded model."""

MAX_WINDOW: int = 900
"""Most frames per window anywhere (30 s at 30 fps): a checkpoint, training config or tool option asking
for more is refused before anything is allocated."""
