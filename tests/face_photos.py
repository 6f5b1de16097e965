"""Labelled photo folders for tests, made of real faces cut from the shared media (``../shared/media``)."""

from pathlib import Path

import cv2
import numpy as np

from emotion.datasets.video import iter_frames, read_image
from emotion.paths import shared_media


def crop_faces(image: np.ndarray) -> list[np.ndarray]:
    """Every face dlib finds in ``image``, cut with a half-face margin and resized to 300 px wide."""
    from emotion.perception.detector import LandmarkDetector

    grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    crops = []
    for x, y, w, h in LandmarkDetector().detect(grey, upsample=1):
        m = w // 2
        crop = image[max(0, y - m):y + h + m, max(0, x - m):x + w + m]
        crops.append(cv2.resize(crop, (300, int(300 * crop.shape[0] / crop.shape[1]))))
    return crops


def muxspace_checkout(root: Path) -> Path:
    """``root/facial_expressions`` in muxspace's layout (``images/``, ``data/legend.csv``): two photos of
    different people per class (a face and a mirrored other face), one fear photo (dropped); returns it."""
    faces = crop_faces(read_image(shared_media("multi_face.jpg")))
    faces.append(read_image(shared_media("single_face.jpg")))
    faces += [f for i, _, f in iter_frames(shared_media("single_face.mp4")) if i in (0, 50)]
    emotions = ("happiness", "sadness", "neutral", "anger", "surprise")
    checkout = root / "facial_expressions"
    (checkout / "images").mkdir(parents=True)
    (checkout / "data").mkdir()
    rows = ["user.id,image,emotion"]
    for k, emotion in enumerate(emotions):
        for j, (face, mirror) in enumerate(((faces[k], False), (faces[(k + 3) % len(faces)], True))):
            name = f"{emotion}_{j}.jpg"
            cv2.imwrite(str(checkout / "images" / name), cv2.flip(face, 1) if mirror else face)
            rows.append(f"{j},{name},{emotion.upper() if j else emotion}")
    cv2.imwrite(str(checkout / "images" / "fear.jpg"), faces[0])
    rows.append("9,fear.jpg,fear")
    (checkout / "data" / "legend.csv").write_text("\n".join(rows) + "\n")
    return checkout
