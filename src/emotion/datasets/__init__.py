"""Labelled landmark windows: the synthetic generator, real-dataset readers and the common window file."""
