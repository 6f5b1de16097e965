"""Where the project's files are: repository root, interfaces, shipped weights, shared media, dlib model.

Paths are derived from this file's location, never from the current directory.
"""

import importlib.util
import os
from pathlib import Path

REPO_ROOT: Path = Path(__file__).resolve().parents[2]
INTERFACES_DIR: Path = REPO_ROOT / "interfaces"
WEIGHTS_DIR: Path = REPO_ROOT / "weights"
DEFAULT_WEIGHTS: Path = WEIGHTS_DIR / "emotion_stgcn.pt"
"""The shipped checkpoint: what training writes, evaluation and fine-tuning read, ``export`` converts."""
DEPLOYED_MODEL: Path = WEIGHTS_DIR / "emotion_stgcn.onnx"
"""The shipped model as the component runs it (etc/config ``Model.Weights``): the ONNX export of
DEFAULT_WEIGHTS, run without torch."""
SAMPLE_CLIP: Path = REPO_ROOT / "media" / "sample_face.mp4"
CACHE_DIR: Path = REPO_ROOT / "cache"
"""Files the tools derive and keep between runs (git-ignored): landmarks of data sets, parsed models."""
COMPONENT_CONFIG: Path = REPO_ROOT / "etc" / "config"
"""The deployed component config; the tools that run its pipeline read their settings from it."""


def shared_dir() -> Path:
    """The read-only data folder: $EMOTION_SHARED, else ../shared beside the repository."""
    return Path(os.environ.get("EMOTION_SHARED", REPO_ROOT.parent / "shared"))


def shared_media(name: str) -> Path:
    """A file of shared/media (may not exist: callers check and explain)."""
    return shared_dir() / "media" / name


def sfm_dir() -> Path:
    """The Surrey Face Model files (shared/data/sfm)."""
    return shared_dir() / "data" / "sfm"


def default_predictor_path() -> Path:
    """dlib's 68-point shape predictor as shipped by the face-recognition-models package.

    The package's __init__ needs pkg_resources (gone from new setuptools), so it is located without
    importing it.
    """
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("package face-recognition-models is not installed (run the README setup)")
    return Path(list(spec.submodule_search_locations)[0]) / "models" / "shape_predictor_68_face_landmarks.dat"
