"""Reader for the Surrey Face Model (eos ``share/`` files): shape PCA model, expression blendshapes,
the iBUG-68 to vertex mapping and the face-contour vertex lists.

File formats (cereal non-portable binary archives, little-endian):

- ``sfm_shape_3448.bin``: uint32 class version, the shape PCA model (mean; orthonormal basis (3V, K);
  eigenvalues; triangles as uint64 count + int32 triples), the colour PCA model in the same form, then
  (version >= 1) uint64 count + float64 texture-coordinate pairs. An Eigen matrix is int32 rows, int32
  cols, then column-major float32 data.
- ``expression_blendshapes_3448.bin``: uint64 count, then per blendshape a string (uint64 length + bytes)
  and an Eigen vector of 3V offsets.
- ``ibug_to_sfm.txt``: TOML, ``[landmark_mappings]`` 1-based iBUG number -> vertex index.
- ``sfm_model_contours.json``: ``model_contour.right_contour`` / ``left_contour`` vertex lists.

Vertex coordinates are millimetres, x to the subject's left, y up, z towards the viewer.
"""

import json
import struct
import tomllib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from emotion.paths import sfm_dir

SHAPE_FILE = "sfm_shape_3448.bin"
BLENDSHAPE_FILE = "expression_blendshapes_3448.bin"
MAPPING_FILE = "ibug_to_sfm.txt"
CONTOUR_FILE = "sfm_model_contours.json"


class SfmError(ValueError):
    """A Surrey Face Model file is missing, truncated or not in the expected format."""


@dataclass(frozen=True)
class ShapeModel:
    """PCA shape model. Shape: mean (3V,), basis (3V, K) orthonormal columns, eigenvalues (K,),
    triangles (F, 3); vertex i is rows 3i..3i+2 (x, y, z)."""

    mean: np.ndarray
    basis: np.ndarray
    eigenvalues: np.ndarray
    triangles: np.ndarray

    @property
    def num_vertices(self) -> int:
        return len(self.mean) // 3

    def rows(self, vertices: np.ndarray) -> "ShapeModel":
        """The model restricted to ``vertices`` (only those rows: cheap to evaluate; no triangles)."""
        idx = _vertex_rows(vertices)
        return ShapeModel(self.mean[idx], self.basis[idx], self.eigenvalues, np.zeros((0, 3), np.int32))


@dataclass(frozen=True)
class Blendshapes:
    """Expression blendshapes. Shape: offsets (B, 3V); names (B,) in file order."""

    names: tuple[str, ...]
    offsets: np.ndarray

    def rows(self, vertices: np.ndarray) -> "Blendshapes":
        """The blendshapes restricted to ``vertices``."""
        return Blendshapes(self.names, self.offsets[:, _vertex_rows(vertices)])

    def index(self, name: str) -> int:
        try:
            return self.names.index(name)
        except ValueError:
            raise SfmError(f"no blendshape {name!r}; the file has {', '.join(self.names)}") from None


@dataclass(frozen=True)
class SurreyFaceModel:
    """Everything the generator needs: shape model, blendshapes, iBUG mapping and contours."""

    shape: ShapeModel
    blendshapes: Blendshapes
    ibug_to_vertex: dict[int, int]
    right_contour: tuple[int, ...]
    left_contour: tuple[int, ...]


def _vertex_rows(vertices: np.ndarray) -> np.ndarray:
    """Row indices (3 per vertex) of the flattened (3V,) layout. Shape: (M,) -> (3M,)."""
    v = np.asarray(vertices, dtype=np.int64)
    return (3 * v[:, None] + np.arange(3)).reshape(-1)


class _Reader:
    """Sequential little-endian reader that names the file and offset when data runs out."""

    def __init__(self, path: Path) -> None:
        if not path.is_file():
            raise SfmError(f"Surrey Face Model file not found: {path} (see shared/README.md for its origin)")
        self.path = path
        self.data = path.read_bytes()
        self.pos = 0

    def take(self, size: int, what: str) -> bytes:
        if size < 0 or self.pos + size > len(self.data):
            raise SfmError(f"{self.path.name} is truncated: {what} needs {size} bytes at offset {self.pos}, "
                           f"file has {len(self.data)}")
        chunk = self.data[self.pos:self.pos + size]
        self.pos += size
        return chunk

    def unpack(self, fmt: str, what: str) -> tuple:
        return struct.unpack("<" + fmt, self.take(struct.calcsize("<" + fmt), what))

    def matrix(self, what: str) -> np.ndarray:
        rows, cols = self.unpack("ii", f"{what} size")
        if rows < 0 or cols < 0:
            raise SfmError(f"{self.path.name}: {what} has a negative size {rows}x{cols}")
        flat = np.frombuffer(self.take(4 * rows * cols, what), dtype="<f4")
        return flat.reshape(cols, rows).T.astype(np.float64)  # column-major on disk

    def string(self, what: str) -> str:
        (length,) = self.unpack("Q", f"{what} length")
        return self.take(length, what).decode("utf-8")

    def pca_model(self, what: str) -> ShapeModel:
        mean = self.matrix(f"{what} mean")
        basis = self.matrix(f"{what} basis")
        eigenvalues = self.matrix(f"{what} eigenvalues")
        (count,) = self.unpack("Q", f"{what} triangle count")
        triangles = np.frombuffer(self.take(12 * count, f"{what} triangles"), dtype="<i4").reshape(count, 3)
        return ShapeModel(mean.reshape(-1), basis, eigenvalues.reshape(-1), triangles.astype(np.int32))


def load_shape_model(path: str | Path | None = None) -> ShapeModel:
    """The shape PCA model of ``sfm_shape_3448.bin`` (colour model and texture coordinates are skipped
    after checking they are complete)."""
    reader = _Reader(Path(path) if path else sfm_dir() / SHAPE_FILE)
    (version,) = reader.unpack("I", "class version")
    shape = reader.pca_model("shape model")
    reader.pca_model("colour model")
    if version >= 1:
        (count,) = reader.unpack("Q", "texture coordinate count")
        reader.take(16 * count, "texture coordinates")
    if shape.basis.shape[0] != len(shape.mean) or len(shape.mean) % 3:
        raise SfmError(f"{reader.path.name}: basis {shape.basis.shape} does not match mean {shape.mean.shape}")
    if shape.basis.shape[1] != len(shape.eigenvalues):
        raise SfmError(f"{reader.path.name}: {shape.basis.shape[1]} basis vectors but "
                       f"{len(shape.eigenvalues)} eigenvalues")
    return shape


def load_blendshapes(path: str | Path | None = None) -> Blendshapes:
    """The expression blendshapes of ``expression_blendshapes_3448.bin``."""
    reader = _Reader(Path(path) if path else sfm_dir() / BLENDSHAPE_FILE)
    (count,) = reader.unpack("Q", "blendshape count")
    if count > 1000:
        raise SfmError(f"{reader.path.name}: implausible blendshape count {count}")
    names, offsets = [], []
    for i in range(count):
        names.append(reader.string(f"blendshape {i} name"))
        offsets.append(reader.matrix(f"blendshape {names[-1]} offsets").reshape(-1))
    if len({len(o) for o in offsets}) > 1:
        raise SfmError(f"{reader.path.name}: blendshapes have different lengths")
    return Blendshapes(tuple(names), np.stack(offsets) if offsets else np.zeros((0, 0)))


def load_ibug_mapping(path: str | Path | None = None) -> dict[int, int]:
    """1-based iBUG landmark number -> model vertex index, from the TOML mapping file."""
    path = Path(path) if path else sfm_dir() / MAPPING_FILE
    if not path.is_file():
        raise SfmError(f"iBUG mapping file not found: {path}")
    try:
        table = tomllib.loads(path.read_text())["landmark_mappings"]
        return {int(k): int(v) for k, v in table.items()}
    except (tomllib.TOMLDecodeError, KeyError, ValueError) as exc:
        raise SfmError(f"{path} is not an iBUG-to-SFM mapping: {exc}") from exc


def load_contours(path: str | Path | None = None) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Right and left face-contour vertex lists (each from the top of the face down to the chin)."""
    path = Path(path) if path else sfm_dir() / CONTOUR_FILE
    if not path.is_file():
        raise SfmError(f"contour file not found: {path}")
    try:
        contour = json.loads(path.read_text())["model_contour"]
        return tuple(map(int, contour["right_contour"])), tuple(map(int, contour["left_contour"]))
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise SfmError(f"{path} is not a model-contour file: {exc}") from exc


def load_sfm(directory: str | Path | None = None) -> SurreyFaceModel:
    """All four files from ``directory`` (default ``emotion.paths.sfm_dir()``), cross-checked."""
    d = Path(directory) if directory else sfm_dir()
    shape = load_shape_model(d / SHAPE_FILE)
    blend = load_blendshapes(d / BLENDSHAPE_FILE)
    mapping = load_ibug_mapping(d / MAPPING_FILE)
    right, left = load_contours(d / CONTOUR_FILE)
    if blend.offsets.shape[1] != len(shape.mean):
        raise SfmError(f"blendshapes have {blend.offsets.shape[1]} values, the shape model {len(shape.mean)}")
    used = list(mapping.values()) + list(right) + list(left)
    if max(used) >= shape.num_vertices or min(used) < 0:
        raise SfmError(f"mapping/contour vertex {max(used)} outside the model's {shape.num_vertices} vertices")
    return SurreyFaceModel(shape, blend, mapping, right, left)
