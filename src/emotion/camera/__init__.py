"""The component's camera input as one stage: which source feeds it (``Camera.Mode``), when a polled frame
is new, which clock stamps it, and the newest frame per camera waiting for ``compute()``.

- ``sources``: the three sources (push over IceStorm, CameraRGBDSimple.getImage, CameraSimple.getImage)
  and what each needs wired;
- ``clock``: the camera's ``alivetime`` when it is a usable millisecond clock, else the receive time;
- ``stage``: ``CameraInput``, what SpecificWorker holds.
"""
