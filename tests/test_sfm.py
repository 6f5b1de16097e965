"""Surrey Face Model reader: real files (skipped when shared/data/sfm is absent) and error handling."""

import struct
from pathlib import Path

import numpy as np
import pytest

from emotion.datasets import sfm
from emotion.paths import sfm_dir

HAVE_SFM = (sfm_dir() / sfm.SHAPE_FILE).is_file()
needs_sfm = pytest.mark.skipif(not HAVE_SFM, reason=f"Surrey Face Model not found at {sfm_dir()}")


@needs_sfm
def test_shape_model_is_orthonormal_pca():
    shape = sfm.load_shape_model()
    assert shape.mean.shape == (10344,) and shape.basis.shape == (10344, 63)
    assert np.allclose(shape.basis.T @ shape.basis, np.eye(63), atol=1e-5)
    assert np.all(np.diff(shape.eigenvalues) <= 0) and shape.eigenvalues[-1] > 0
    assert shape.triangles.shape[1] == 3 and shape.triangles.max() < shape.num_vertices


@needs_sfm
def test_blendshapes_mapping_and_contours():
    model = sfm.load_sfm()
    assert model.blendshapes.names == ("anger", "disgust", "fear", "happiness", "sadness", "surprise")
    assert model.blendshapes.offsets.shape == (6, 10344)
    assert set(range(1, 69)) - set(model.ibug_to_vertex) == set(range(1, 9)) | set(range(10, 18)) | {61, 65}
    assert len(model.right_contour) == len(model.left_contour) == 17
    mean = model.shape.mean.reshape(-1, 3)
    # subject's right is -x, left +x; eyes above the nose tip above the mouth (y up)
    assert mean[list(model.right_contour), 0].max() < 0 < mean[list(model.left_contour), 0].min()
    eye, nose, mouth = (mean[model.ibug_to_vertex[i], 1] for i in (37, 31, 52))
    assert eye > nose > mouth


@needs_sfm
def test_rows_selects_vertices():
    shape = sfm.load_shape_model()
    sub = shape.rows(np.array([5, 2]))
    assert np.array_equal(sub.mean, np.r_[shape.mean[15:18], shape.mean[6:9]])
    assert sub.basis.shape == (6, 63)


def _eigen(values: np.ndarray) -> bytes:
    return struct.pack("<ii", len(values), 1) + np.asarray(values, "<f4").tobytes()


def test_blendshape_fixture_round_trip_and_truncation(tmp_path: Path):
    data = struct.pack("<Q", 2)
    for name, vals in (("anger", [1.0, 2.0, 3.0]), ("fear", [4.0, 5.0, 6.0])):
        data += struct.pack("<Q", len(name)) + name.encode() + _eigen(np.array(vals))
    path = tmp_path / "b.bin"
    path.write_bytes(data)
    blend = sfm.load_blendshapes(path)
    assert blend.names == ("anger", "fear") and np.allclose(blend.offsets, [[1, 2, 3], [4, 5, 6]])
    assert blend.index("fear") == 1
    with pytest.raises(sfm.SfmError, match="no blendshape"):
        blend.index("joy")
    path.write_bytes(data[:-5])
    with pytest.raises(sfm.SfmError, match="truncated"):
        sfm.load_blendshapes(path)


def test_shape_fixture_column_major_and_truncation(tmp_path: Path):
    mean = _eigen(np.arange(6.0))
    basis = struct.pack("<ii", 6, 2) + np.arange(12, dtype="<f4").tobytes()  # column-major
    eig = _eigen(np.array([2.0, 1.0]))
    tris = struct.pack("<Q", 1) + np.array([0, 1, 0], "<i4").tobytes()
    empty = struct.pack("<ii", 0, 1) + struct.pack("<ii", 0, 0) + struct.pack("<ii", 0, 1) + struct.pack("<Q", 0)
    data = struct.pack("<I", 1) + mean + basis + eig + tris + empty + struct.pack("<Q", 1) + b"\0" * 16
    path = tmp_path / "s.bin"
    path.write_bytes(data)
    shape = sfm.load_shape_model(path)
    assert np.array_equal(shape.basis[:, 1], np.arange(6, 12)) and shape.num_vertices == 2
    path.write_bytes(data[:40])
    with pytest.raises(sfm.SfmError, match="truncated"):
        sfm.load_shape_model(path)


def test_missing_and_malformed_text_files(tmp_path: Path):
    with pytest.raises(sfm.SfmError, match="not found"):
        sfm.load_shape_model(tmp_path / "nope.bin")
    bad = tmp_path / "map.txt"
    bad.write_text("[other]\n1 = 2\n")
    with pytest.raises(sfm.SfmError, match="not an iBUG"):
        sfm.load_ibug_mapping(bad)
    bad.write_text('{"model_contour": {}}')
    with pytest.raises(sfm.SfmError, match="not a model-contour"):
        sfm.load_contours(bad)
