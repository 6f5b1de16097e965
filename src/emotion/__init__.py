"""emotionrecognition: facial emotion from 68-landmark sequences with a spatio-temporal graph network.

Pipeline, one module each: decode (perception.image) -> detect/track (perception.tracking) -> buffer
(perception.buffer) -> normalise (normalize) -> model (inference) -> smooth (smoothing) -> publish.
"""

__version__ = "0.1.0"
