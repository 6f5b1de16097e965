"""Training and evaluation: config (TOML), augmentation, data mixing and balance, the loop, metrics, plots.

``python -m emotion train --config FILE --out DIR`` and ``python -m emotion evaluate`` are the entry points.
"""
