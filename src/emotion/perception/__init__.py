"""Perception: camera frames to tracked faces with 68 landmarks and per-track landmark windows.

image (TImage -> BGR) -> detector (dlib HOG + 68-point predictor) -> tracking (detect on a schedule,
follow every frame) -> buffer (the last T frames per track). Pure Python, no Ice.
"""
