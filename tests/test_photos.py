"""Labelled photos -> stills: the three layouts, real landmark extraction, groups, and `prepare`.

The photos are real faces cut from the shared media (skipped with a reason without ../shared).
"""

import csv
import subprocess
import sys

import cv2
import numpy as np
import pytest

from emotion.classes import class_from_alias, class_index
from emotion.datasets import photos
from emotion.datasets.csvfile import MAX_FIELD_CHARS
from emotion.datasets.extraction import LandmarkExtractor
from emotion.datasets.video import iter_frames, read_image
from emotion.paths import REPO_ROOT, shared_dir, shared_media
from emotion.perception.tracking import TrackerConfig
from face_photos import crop_faces

needs_media = pytest.mark.skipif(not (shared_dir() / "media").is_dir(),
                                 reason=f"shared media folder {shared_dir() / 'media'} is absent")


def test_aliases_cover_other_datasets_labels_and_drop_unknown_emotions():
    assert class_from_alias(" HAPPINESS ") == class_index("Happy")
    assert class_from_alias("angry") == class_index("Anger") and class_from_alias("Surprised") == class_index("Surprise")
    assert class_from_alias("disgust") is None and class_from_alias("contempt") is None


def test_person_groups_and_near_duplicates_join_only_true_pairs():
    assert photos.person_group(photos.Path("x/George_W_Bush_0012.jpg")) == "person/George_W_Bush"
    assert photos.person_group(photos.Path("x/facial-expressions_2868588k.jpg")) == "photo/facial-expressions_2868588k.jpg"
    rng = np.random.default_rng(0)
    shapes = rng.normal(0, 1, (5, 68, 2))
    shapes[1] = shapes[0] + 0.001          # same shape and same picture: a duplicate
    shapes[3] = shapes[2] + 0.001          # same shape, different picture: not one
    hashes = np.array([0b1011, 0b1011, 0, 2 ** 63 - 1, 12345], dtype=np.uint64)
    groups, pairs = photos.merge_near_duplicates(["a", "b", "c", "d", "e"], hashes, shapes)
    assert pairs == 1 and groups == ["a", "a", "c", "d", "e"]


@pytest.fixture(scope="module")
def photo_folder(tmp_path_factory):
    """ROOT/<label>/ photos: real faces, a resized copy, one person twice, a photo without a face."""
    root = tmp_path_factory.mktemp("photos")
    faces = crop_faces(read_image(shared_media("multi_face.jpg")))
    assert len(faces) >= 4
    single = read_image(shared_media("single_face.jpg"))
    video = [f for i, _, f in iter_frames(shared_media("single_face.mp4")) if i in (0, 50)]
    empty = next(f for _, _, f in iter_frames(shared_media("no_face.mp4")))
    layout = {
        "Happy/single.jpg": single, "Happy/single_copy.jpg": cv2.resize(single, None, fx=0.9, fy=0.9),
        "happiness/crop0.jpg": faces[0], "Sad/crop1.jpg": faces[1], "ANGER/crop2.jpg": faces[2],
        "Surprise/crop3.jpg": faces[3], "Neutral/Jane_Doe_0001.jpg": video[0], "Happy/Jane_Doe_0002.jpg": video[1],
        "Surprise/empty.jpg": empty, "disgust/crop0.jpg": faces[0],
    }
    for name, image in layout.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(root / name), image)
    return root


@needs_media
def test_folder_layout_gives_one_still_per_face_with_groups(photo_folder, tmp_path):
    listed = photos.folder_photos(photo_folder)
    assert len(listed.items) == 9 and listed.dropped == {"disgust": 1}
    stills = photos.read_photos(listed, LandmarkExtractor(tmp_path / "cache", TrackerConfig(), workers=1), "test")
    assert stills.landmarks.shape == (8, 1, 68, 2) and np.isfinite(stills.landmarks).all()
    assert stills.meta["no_face"] == 1 and stills.meta["photos"] == 9
    by_name = {photos.Path(p).name: i for i, p in enumerate(stills.meta["paths"])}
    assert "empty.jpg" not in by_name
    assert stills.labels[by_name["crop2.jpg"]] == class_index("Anger")
    assert stills.labels[by_name["crop0.jpg"]] == class_index("Happy")
    group = {name: stills.groups[i] for name, i in by_name.items()}
    assert group["Jane_Doe_0001.jpg"] == group["Jane_Doe_0002.jpg"] == "person/Jane_Doe"
    assert group["single.jpg"] == group["single_copy.jpg"]                  # a resized copy: one group
    assert stills.meta["near_duplicate_pairs"] == 1
    assert len({group[f"crop{i}.jpg"] for i in range(4)} | {group["single.jpg"]}) == 5
    # each face's appearance, as the component describes it in a frame of the photo
    from emotion.appearance import describe
    path = photos.Path(stills.meta["paths"][by_name["crop0.jpg"]])
    np.testing.assert_allclose(stills.appearance[by_name["crop0.jpg"]],
                               describe(photos.read_grey(path), stills.landmarks[by_name["crop0.jpg"], 0]), atol=1e-6)
    copies = [stills.appearance[by_name[name]] for name in ("single.jpg", "single_copy.jpg")]
    assert np.corrcoef(*copies)[0, 1] > 0.95 > np.corrcoef(copies[0], stills.appearance[by_name["crop0.jpg"]])[0, 1]


@needs_media
def test_csv_and_muxspace_layouts_read_the_same_photos(photo_folder, tmp_path):
    table = tmp_path / "labels.csv"
    rows = [("Happy/single.jpg", "happy", "alice"), ("Sad/crop1.jpg", "sadness", ""), ("disgust/crop0.jpg", "disgust", "")]
    with open(table, "w", newline="") as handle:
        csv.writer(handle).writerows([("path", "label", "group"), *rows])
    listed = photos.csv_photos(table, photo_folder)
    assert [i.group for i in listed.items] == ["alice", "photo/crop1.jpg"] and listed.dropped == {"disgust": 1}
    checkout = tmp_path / "facial_expressions"
    (checkout / "data").mkdir(parents=True)
    (checkout / "images").mkdir()
    for name in ("Happy/single.jpg", "Sad/crop1.jpg"):
        (checkout / "images" / photos.Path(name).name).write_bytes((photo_folder / name).read_bytes())
    (checkout / "data" / "legend.csv").write_text("user.id,image,emotion\n1,single.jpg,HAPPINESS\n"
                                                  "1,crop1.jpg,sadness\n2,crop1.jpg,fear\n")
    mux = photos.muxspace_photos(checkout)
    assert [(i.path.name, i.label) for i in mux.items] == [("single.jpg", 0), ("crop1.jpg", 1)]
    assert mux.dropped == {"fear": 1}
    cache = LandmarkExtractor(tmp_path / "cache", TrackerConfig(), workers=1)
    a, b = photos.read_photos(listed, cache, "csv"), photos.read_photos(mux, cache, "muxspace")
    np.testing.assert_allclose(a.landmarks, b.landmarks)


def test_bad_photo_tables_are_refused_with_the_reason(tmp_path):
    (tmp_path / "no_label.csv").write_text("path,group\nx.jpg,a\n")
    with pytest.raises(ValueError, match="header must hold path and label"):
        photos.csv_photos(tmp_path / "no_label.csv")
    (tmp_path / "missing.csv").write_text("path,label\nnot_there.jpg,Happy\n")
    with pytest.raises(FileNotFoundError, match="missing.csv:2: no photo"):
        photos.csv_photos(tmp_path / "missing.csv")
    (tmp_path / "huge.csv").write_text("path,label\n" + "a" * (MAX_FIELD_CHARS + 10) + ",Happy\n")
    with pytest.raises(ValueError, match="not a readable CSV"):
        photos.csv_photos(tmp_path / "huge.csv")
    (tmp_path / "binary.csv").write_bytes(b"path,label\n\xff\xfe\x00,Happy\n")
    with pytest.raises(ValueError, match="not a UTF-8"):
        photos.csv_photos(tmp_path / "binary.csv")


def _prepare(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "emotion", "prepare", *args], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=300)


@needs_media
def test_prepare_photos_writes_stills_and_refuses_bad_arguments(photo_folder, tmp_path):
    out = tmp_path / "stills.npz"
    done = _prepare("--format", "photos", "--root", str(photo_folder), "--out", str(out),
                    "--cache", str(tmp_path / "cache"), "--workers", "2")
    assert done.returncode == 0, done.stderr
    assert "8 windows of 1 frames" in done.stdout and "1 without a face" in done.stdout
    assert "leaked" not in done.stderr, done.stderr  # the worker processes end cleanly
    from emotion.datasets.windows import WindowSet

    assert WindowSet.load(out).landmarks.shape == (8, 1, 68, 2)
    for args, code, message in (
        (("--format", "photos", "--out", str(out)), 2, "needs either --root"),
        (("--format", "muxspace", "--out", str(out)), 2, "needs --root"),
        (("--format", "muxspace", "--root", str(tmp_path), "--out", str(out)), 1, "no CSV at"),
    ):
        failed = _prepare(*args)
        assert failed.returncode == code and message in failed.stderr, failed.stderr
        assert "Traceback" not in failed.stderr and len(failed.stderr.strip().splitlines()) == 1
