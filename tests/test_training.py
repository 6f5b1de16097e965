"""Training: config checks, augmentation invariants, metrics, data split/balance, a smoke run and resume."""

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from emotion.checkpoint import load_checkpoint
from emotion.classes import EMOTIONS
from emotion.cli import main
from emotion.datasets.windows import WindowSet
from emotion.face68 import LEFT_EYE, RIGHT_EYE, eye_centres
from emotion.paths import REPO_ROOT, shared_dir
from emotion.training.augment import (AugmentConfig, add_identity, augment_batch, identity_offsets, mirror,
                                      pad_start, resample_speed)
from emotion.training.config import ConfigError, load_config, model_config
from emotion.models import ModelConfig, build_model
from emotion.training.loop import _loss, train
from emotion.training.data import fit_window, sampling_probabilities, split_by_group, to_class_order
from emotion.training.metrics import confusion_matrix, report

CONFIGS = REPO_ROOT / "configs"
torch.set_num_threads(1)


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "run.toml"
    path.write_text(text)
    return path


SYNTH = '[[sources]]\nkind = "synth"\ncount = 10\n'


# ---- config ----

@pytest.mark.parametrize("name", ["train_default.toml", "train_smoke.toml", "train_ragcn.toml"])
def test_shipped_configs_load(name):
    cfg = load_config(CONFIGS / name)
    assert cfg.sources and model_config(cfg).window == cfg.window


@pytest.mark.parametrize("text, words", [
    ("learning_rate = 1\n" + SYNTH, ["top level", "learning_rate"]),
    (SYNTH + "rate = 1\n", ["[sources #1]", "rate"]),
    ("seed = -1\n" + SYNTH, ["'seed'", "integer"]),
    (SYNTH + "[optim]\nlr = -0.1\n", ["[optim]", "'lr'", "> 0.0"]),
    (SYNTH + "[optim]\nepoch = 3\n", ["[optim]", "epoch"]),
    (SYNTH + "[optim]\nschedule = 'step'\n", ["'schedule'", "cosine"]),
    (SYNTH + "[augment]\nmirror_p = 2\n", ["[augment]", "'mirror_p'", "probability"]),
    (SYNTH + "[model]\nchannels = 3\n", ["[model]", "channels"]),
    (SYNTH + "[model]\ntemporal_kernel = 4\n", ["[model]", "odd"]),
    (SYNTH + "[model]\npreset = 'huge'\n", ["[model]", "'preset'"]),
    ('[[sources]]\nkind = "synth"\n', ["sources #1", "count"]),
    ('[[sources]]\nkind = "windows"\n', ["sources #1", "path"]),
    ('[[sources]]\nkind = "video"\n', ["sources #1", "'kind'"]),
    ('[[sources]]\nkind = "photos"\npath = "s.npz"\n', ["sources #1", "'count'", "photos"]),
    ('[[sources]]\nkind = "photos"\npath = "s.npz"\ncount = 5\noptions = {held_p = 2.0}\n', ["'options'", "held_p"]),
    ('[[sources]]\nkind = "photos"\npath = "s.npz"\ncount = 5\noptions = {hold = 1}\n', ["'options'", "unknown"]),
    (SYNTH + "share = {Joy = 0.5}\n", ["'share'", "Joy"]),
    (SYNTH + "share = 1.5\n", ["'share'", "<= 1.0"]),
    ("seed = 1\n", ["sources"]),
    (SYNTH.replace("count = 10", "count = 10\nsplit = 'val'"), ["nothing to train"]),
    ('init = "x.pt"\n' + SYNTH + "[model]\narch = 'stgcn'\n", ["[model]", "checkpoint"]),
])
def test_config_errors_name_file_and_key(tmp_path, text, words):
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    message = str(err.value)
    assert str(path) in message
    for word in words:
        assert word in message, message


def test_config_resolves_paths_against_its_folder(tmp_path):
    cfg = load_config(_write(tmp_path, '[[sources]]\nkind = "windows"\npath = "data/w.npz"\nweight = 2.5\n'))
    assert cfg.sources[0].path == (tmp_path / "data" / "w.npz").resolve()
    assert cfg.sources[0].weight == 2.5


def test_broken_toml_and_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(_write(tmp_path, "seed = = 1"))
    with pytest.raises(ConfigError, match="no such config"):
        load_config(tmp_path / "absent.toml")


# ---- augmentation ----

def _faces(n: int = 4, t: int = 6, seed: int = 0) -> np.ndarray:
    """Random windows with the right eye on the image left, the left eye on the right."""
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 5, (n, t, 68, 2)).astype(np.float32) + [200.0, 150.0]
    x[:, :, list(RIGHT_EYE), 0] -= 30
    x[:, :, list(LEFT_EYE), 0] += 30
    return x


def test_mirror_twice_is_identity_and_keeps_eye_sides():
    x = _faces()
    np.testing.assert_allclose(mirror(mirror(x)), x, atol=1e-4)
    m = mirror(x)
    right, left = eye_centres(m)
    assert (right[..., 0] < left[..., 0]).all(), "the subject's right eye must stay on the image left"
    # point 36 (right eye outer corner) of the mirror is point 45 of the original, reflected
    centre = x[..., 0].mean(axis=(1, 2))[:, None]
    np.testing.assert_allclose(m[:, :, 36, 0], 2 * centre - x[:, :, 45, 0], atol=1e-3)
    np.testing.assert_allclose(m[:, :, 36, 1], x[:, :, 45, 1])


def test_speed_keeps_end_frame_and_pad_repeats_frame_k():
    x = _faces(3, 10)
    same = resample_speed(x, np.ones(3))
    np.testing.assert_allclose(same, x, atol=1e-5)
    fast = resample_speed(x, np.array([0.7, 1.3, 1.0]))
    np.testing.assert_allclose(fast[:, -1], x[:, -1], atol=1e-5)
    assert not np.allclose(fast[0], x[0])
    np.testing.assert_allclose(fast[1, :2], x[1, :1].repeat(2, 0), atol=1e-5)  # before the start: frame 0
    padded = pad_start(x, np.array([0, 3, 9]))
    np.testing.assert_array_equal(padded[0], x[0])
    assert (padded[1, :4] == x[1, 3]).all() and (padded[1, 4:] == x[1, 4:]).all()
    assert (padded[2] == x[2, 9]).all()


def test_augment_batch_is_seeded_and_off_means_identity():
    x = _faces(8, 12)
    cfg = AugmentConfig()
    a = augment_batch(x, cfg, np.random.default_rng(3))
    b = augment_batch(x, cfg, np.random.default_rng(3))
    assert a.shape == x.shape and a.dtype == np.float32
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, x)
    off = AugmentConfig(mirror_p=0, rotation_deg=0, scale=0, aniso=0, shift=0, jitter=0, jitter_max=0,
                        speed_p=0, pad_p=0, dropout_p=0)
    np.testing.assert_allclose(augment_batch(x, off, np.random.default_rng(0)), x, atol=1e-3)
    only_dropout = AugmentConfig(**{**off.__dict__, "dropout_p": 1.0})
    dropped = augment_batch(x, only_dropout, np.random.default_rng(1))
    changed = ~np.isclose(dropped, x, atol=1e-4).all(axis=-1)                         # (N, T, 68)
    for window in changed:
        frames, points = np.flatnonzero(window.any(axis=1)), np.flatnonzero(window.any(axis=0))
        assert len(frames) and np.array_equal(frames, np.arange(frames[0], frames[-1] + 1))  # one span
        assert len(points) <= 20                                                      # one face part
    with pytest.raises(ValueError, match="speed_min"):
        AugmentConfig(speed_min=1.2, speed_max=1.0)


def test_identity_step_moves_the_face_shape_in_its_own_frame():
    from emotion.normalize import normalize_landmarks

    x = _faces(3, 5)
    offsets = identity_offsets(_faces(10, 1, seed=2)[:, 0])
    assert offsets.shape == (10, 68, 2)
    np.testing.assert_allclose(offsets.mean(axis=0), 0.0, atol=1e-5)
    moved = add_identity(x, offsets[:3])
    # the normalised face moves by exactly the offset in every frame: roll and scale are the face's own
    np.testing.assert_allclose(normalize_landmarks(moved) - normalize_landmarks(x), offsets[:3, None].repeat(5, 1),
                               atol=1e-4)
    off = AugmentConfig(mirror_p=0, rotation_deg=0, scale=0, aniso=0, shift=0, jitter=0, jitter_max=0,
                        speed_p=0, pad_p=0, dropout_p=0, identity_p=1.0)
    np.testing.assert_allclose(augment_batch(x, off, np.random.default_rng(0)), x, atol=1e-3)  # no offsets: off
    changed = augment_batch(x, off, np.random.default_rng(0), offsets)
    assert not np.allclose(changed, x, atol=1e-2)


# ---- metrics ----

def test_metrics_on_a_hand_made_confusion():
    y_true = np.array([0, 0, 0, 1, 1, 2])
    y_pred = np.array([0, 0, 1, 1, 2, 2])
    cm = confusion_matrix(y_true, y_pred, 3)
    assert cm.tolist() == [[2, 1, 0], [0, 1, 1], [0, 0, 1]]
    rep = report(cm, ["a", "b", "c"])
    assert rep["accuracy"] == pytest.approx(4 / 6)
    assert rep["per_class"]["a"] == pytest.approx({"precision": 1.0, "recall": 2 / 3, "f1": 0.8, "support": 3})
    assert rep["per_class"]["b"]["precision"] == pytest.approx(0.5)
    assert rep["per_class"]["c"]["f1"] == pytest.approx(2 / 3)
    assert rep["macro_f1"] == pytest.approx((0.8 + 0.5 + 2 / 3) / 3)
    with pytest.raises(ValueError, match=r"\[0, 3\)"):
        confusion_matrix(np.array([3]), np.array([0]), 3)


def test_balanced_macro_f1_is_what_a_balanced_set_would_give():
    rep = report(np.array([[90, 10], [1, 9]]), ["common", "rare"])
    assert rep["per_class"]["rare"]["precision"] == pytest.approx(9 / 19)       # drowned by the common class
    assert rep["balanced_macro_f1"] == pytest.approx(0.9)                       # rows scaled: 0.9 / 0.1 both
    balanced = report(np.array([[9, 1], [3, 7]]), ["a", "b"])
    assert balanced["balanced_macro_f1"] == pytest.approx(balanced["macro_f1"])


def test_metrics_never_predicted_class_and_absent_class():
    rep = report(np.array([[3, 0, 0], [2, 0, 0], [0, 0, 0]]), ["a", "b", "c"])
    assert rep["per_class"]["b"]["precision"] == 0.0 and rep["per_class"]["b"]["recall"] == 0.0
    assert rep["macro_f1"] == pytest.approx((2 * 0.6 / 1.6 + 0.0) / 2)  # c is absent: not averaged


# ---- data ----

def test_split_by_group_never_leaks_and_balance_equalises_classes():
    groups = np.repeat(np.array([f"id{i}" for i in range(20)]), 5)
    val = split_by_group(groups, 0.2, np.random.default_rng(0))
    assert set(groups[val]).isdisjoint(groups[~val])
    assert len(set(groups[val])) == 4
    assert not split_by_group(np.array(["one"] * 4), 0.5, np.random.default_rng(0)).any()
    labels = np.array([0] * 90 + [1] * 10)
    weights = np.array([1.0] * 50 + [3.0] * 50)
    p = sampling_probabilities(labels, weights, 2, balance=True)
    assert p.sum() == pytest.approx(1.0)
    assert p[labels == 0].sum() == pytest.approx(0.5) and p[labels == 1].sum() == pytest.approx(0.5)
    assert p[60] == pytest.approx(3 * p[0])  # same class, source weight 3 vs 1


def test_shares_fix_a_source_fraction_of_each_class():
    labels = np.array([0] * 100 + [1] * 20 + [0] * 10 + [1] * 200)
    sources = np.array([0] * 120 + [1] * 210)
    shares = np.array([[np.nan, np.nan], [0.25, np.nan]])       # source 1 gets a quarter of class 0
    p = sampling_probabilities(labels, np.ones(len(labels)), 2, True, sources, shares)
    assert p.sum() == pytest.approx(1.0)
    assert p[labels == 0].sum() == pytest.approx(0.5) and p[labels == 1].sum() == pytest.approx(0.5)
    assert p[(labels == 0) & (sources == 1)].sum() == pytest.approx(0.125)
    # class 1 has no share: windows of both sources are equally likely, as without shares
    assert p[(labels == 1) & (sources == 0)].sum() == pytest.approx(0.5 * 20 / 220)
    plain = sampling_probabilities(labels, np.ones(len(labels)), 2, True)
    np.testing.assert_allclose(sampling_probabilities(labels, np.ones(len(labels)), 2, True, sources), plain)
    # shares that add up to more than 1 are scaled to 1 and leave nothing to the others
    both = sampling_probabilities(labels, np.ones(len(labels)), 2, False, sources, np.array([[0.9, np.nan], [0.9, np.nan]]))
    assert both[(labels == 0) & (sources == 1)].sum() == pytest.approx(both[(labels == 0) & (sources == 0)].sum())


def test_photos_source_trains_on_made_windows_and_validates_on_held_stills(tmp_path):
    from emotion.training.data import build_data

    n = 60
    stills = _faces(n, 1, seed=3)
    labels = np.arange(n) % len(EMOTIONS)
    groups = np.array([f"person{i // 2}" for i in range(n)])    # two photos per person
    WindowSet(stills, labels, groups).save(tmp_path / "stills.npz")
    cfg = load_config(_write(tmp_path, 'window = 12\n[[sources]]\nkind = "photos"\npath = "stills.npz"\n'
                                       'count = 500\nseed = 4\nshare = 0.5\n[split]\nval_fraction = 0.2\n'))
    data = build_data(cfg, tmp_path / "cache", progress=False)
    assert len(data.train) == 500 and data.train.window == 12
    assert list(data.val_parts) == ["photos:stills"] and data.val_parts["photos:stills"].all()
    assert len(data.val) == 12                                   # 6 people of 30, every photo once
    np.testing.assert_array_equal(data.val.landmarks, np.repeat(data.val.landmarks[:, :1], 12, axis=1))
    assert set(data.train.groups).isdisjoint(data.val.groups)
    assert data.summary["sources"][0]["share"] == {name: 0.5 for name in EMOTIONS}
    neutral_train = sum(1 for g, y in zip(groups, labels) if f"s0:{g}" not in set(data.val.groups) and y == 2)
    assert data.identities.shape == (neutral_train, 68, 2)       # the training photos' neutral faces only


def test_fit_window_keeps_the_end_and_classes_match_by_name():
    x = _faces(2, 10)
    ws = WindowSet(x, [0, 1], ["a", "b"], ("sad", "Happy"))
    short, long = fit_window(ws, 4), fit_window(ws, 13)
    np.testing.assert_array_equal(short.landmarks, x[:, -4:])
    np.testing.assert_array_equal(long.landmarks[:, 3:], x)
    assert (long.landmarks[:, :3] == x[:, :1]).all()
    ordered = to_class_order(ws)
    assert ordered.class_names == EMOTIONS and ordered.labels.tolist() == [1, 0]
    with pytest.raises(ValueError, match="Disgust"):
        to_class_order(WindowSet(x, [0, 0], ["a", "b"], ("Disgust",)))


# ---- a smoke run on tiny synthetic data, and resume ----

needs_sfm = pytest.mark.skipif(not (shared_dir() / "data" / "sfm").is_dir(),
                               reason=f"Surrey Face Model not found under {shared_dir()} (set EMOTION_SHARED)")


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    """configs/train_smoke.toml trained once (8 epochs, about 5 s), cache in a shared folder."""
    root = tmp_path_factory.mktemp("smoke")
    cfg = dataclasses.replace(load_config(CONFIGS / "train_smoke.toml"), cache_dir=root / "cache")
    metrics = train(cfg, root / "run", progress=False, log=lambda msg: None)
    return cfg, root, metrics


@needs_sfm
def test_smoke_run_learns_and_writes_everything(smoke):
    cfg, root, metrics = smoke
    run = root / "run"
    for name in ("best.pt", "last.pt", "last_state.pt", "metrics.json", "confusion.png", "learning_curve.png"):
        assert (run / name).is_file() and (run / name).stat().st_size > 0, name
    assert len(list((root / "cache").glob("synth_n400_s5_t16_*.npz"))) == 1
    val = metrics["validation"]
    assert val["accuracy"] > 0.4 and val["macro_f1"] > 0.35, val  # chance is 0.2
    stored = json.loads((run / "metrics.json").read_text())
    assert stored["validation"]["accuracy"] == pytest.approx(val["accuracy"])
    assert len(stored["history"]) == cfg.optim.epochs
    assert stored["data"]["train_windows"] + stored["data"]["val_windows"] == 400
    best = load_checkpoint(run / "best.pt")
    assert best.window == 16 and best.class_names == EMOTIONS
    assert best.extra["train_config"]["optim"]["epochs"] == cfg.optim.epochs
    assert best.extra["metrics"]["macro_f1"] == pytest.approx(val["macro_f1"])
    assert best.extra["epoch"] == metrics["best_epoch"]


@needs_sfm
def test_resume_continues_exactly_where_it_stopped(smoke):
    cfg, root, metrics = smoke
    run = root / "resumed"

    def interrupt_after_epoch_5(msg: str) -> None:
        if msg.startswith("epoch 5:"):
            raise KeyboardInterrupt  # as if Ctrl-C hit after last.pt was written

    with pytest.raises(KeyboardInterrupt):
        train(cfg, run, progress=False, log=interrupt_after_epoch_5)
    train(cfg, run, resume=True, progress=False, log=lambda msg: None)
    history = json.loads((run / "metrics.json").read_text())["history"]
    assert [h["epoch"] for h in history] == list(range(1, cfg.optim.epochs + 1))
    for got, want in zip(history, metrics["history"]):
        assert got["train_loss"] == pytest.approx(want["train_loss"], rel=1e-5)
        assert got["val_macro_f1"] == pytest.approx(want["val_macro_f1"])
    changed = dataclasses.replace(cfg, augment=dataclasses.replace(cfg.augment, mirror_p=0.0))
    with pytest.raises(ValueError, match="different config"):
        train(changed, run, resume=True, progress=False, log=lambda msg: None)
    with pytest.raises(FileNotFoundError, match="cannot resume"):
        train(cfg, root / "never-ran", resume=True, progress=False, log=lambda msg: None)


@needs_sfm
def test_train_cli_reports_config_errors(tmp_path, capsys):
    bad = _write(tmp_path, SYNTH + "[optim]\nlr = 0\n")
    assert main(["train", "--config", str(bad), "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert str(bad) in err and "'lr'" in err


def test_ragcn_loss_adds_one_cross_entropy_per_stream():
    torch.manual_seed(0)
    mc = ModelConfig(arch="ragcn", num_streams=2, blocks=((8, 2),), temporal_kernel=3, window=6, dropout=0.0)
    model = build_model(mc, 4, len(EMOTIONS))
    x, y = torch.randn(5, 4, 6, 68), torch.tensor([0, 1, 2, 3, 4])
    streams = model.stream_logits(x)
    expected = F.cross_entropy(model(x), y) + sum(F.cross_entropy(s, y) for s in streams)
    assert _loss(model, x, y, 0.0, None).item() == pytest.approx(expected.item(), rel=1e-5)
    plain = build_model(ModelConfig(blocks=((8, 2),), temporal_kernel=3, window=6, dropout=0.0), 4, len(EMOTIONS))
    assert _loss(plain, x, y, 0.0, None).item() == pytest.approx(F.cross_entropy(plain(x), y).item(), rel=1e-5)


# ---- the geometry head ----

def _expression_stills(n: int, seed: int) -> np.ndarray:
    """Random faces whose class (i % 5) moves the mouth (landmarks 48-67) up or down by its own amount: a
    linear read of the shape tells the classes apart, mirrored or not."""
    x = _faces(n, 1, seed)
    x[:, :, 48:68, 1] += np.array([-20, -10, 0, 10, 20], np.float32)[np.arange(n) % 5][:, None, None]
    return x


def test_geometry_head_is_fitted_after_training_and_leaves_the_network_alone(tmp_path):
    n = 600
    WindowSet(_expression_stills(n, seed=5), np.arange(n) % 5, np.array([f"p{i // 2}" for i in range(n)])).save(
        tmp_path / "stills.npz")
    base = ('window = 8\nthreads = 1\n[[sources]]\nkind = "photos"\npath = "stills.npz"\ncount = 200\n'
            '[split]\nval_fraction = 0.2\n[optim]\nepochs = 2\nbatch_size = 32\nsamples_per_epoch = 128\n'
            '[model]\npreset = "compact"\nblocks = [[8, 2]]\ntemporal_kernel = 3\n')
    plain = load_config(_write(tmp_path, base))
    with_head = load_config(_write(tmp_path, base + "geometry_frames = 3\n[geometry]\nl2 = 0.01\n"))
    assert with_head.geometry.l2 == 0.01 and with_head.geometry.photos_share == 0.9
    train(plain, tmp_path / "plain", progress=False, log=lambda msg: None)
    metrics = train(with_head, tmp_path / "head", progress=False, log=lambda msg: None)
    a, b = load_checkpoint(tmp_path / "plain" / "best.pt"), load_checkpoint(tmp_path / "head" / "best.pt")
    network = {k: v for k, v in b.model.state_dict().items() if not k.startswith("geometry.")}
    assert network.keys() == a.model.state_dict().keys()
    for key, value in a.model.state_dict().items():  # trained exactly as without the head
        torch.testing.assert_close(network[key], value, msg=key)
    assert b.model.geometry.weight.abs().sum() > 0
    assert b.extra["geometry"]["photos"] == 480 and b.extra["geometry"]["other_windows"] == 0
    alone, fused = metrics["validation_without_geometry"], metrics["validation"]
    # the mouth's shift is linear in the shape: the head reads it, two epochs of the network do not
    assert fused["accuracy"] >= 0.9 > alone["accuracy"], (alone["accuracy"], fused["accuracy"])
    WindowSet(np.repeat(_expression_stills(40, seed=6), 8, axis=1), np.arange(40) % 5,
              np.array([f"q{i}" for i in range(40)])).save(tmp_path / "windows.npz")
    no_photos = base.replace('kind = "photos"\npath = "stills.npz"\ncount = 200',
                             'kind = "windows"\npath = "windows.npz"')
    with pytest.raises(ValueError, match="photos source"):
        train(load_config(_write(tmp_path, no_photos + "geometry_frames = 3\n")), tmp_path / "none",
              progress=False, log=lambda msg: None)
    init = f"threads = 1\ninit = '{tmp_path / 'head' / 'best.pt'}'\n"
    finetune = no_photos.split("[model]")[0].replace("threads = 1\n", init)
    train(load_config(_write(tmp_path, finetune)), tmp_path / "finetuned", progress=False, log=lambda msg: None)
    tuned = load_checkpoint(tmp_path / "finetuned" / "best.pt").model
    torch.testing.assert_close(tuned.geometry.weight, b.model.geometry.weight)  # videos only: the head is kept
    for bad, words in (("photos_share = 0.0", "photos_share"), ("mirror = 1", "true or false"),
                       ("l2 = -1", "'l2'"), ("appearance_l2 = -1", "'appearance_l2'"),
                       ("network_weight = 1.5", "'network_weight'"), ("identity_copies = 11", "'identity_copies'"),
                       ("identity_scale = -0.5", "'identity_scale'")):
        with pytest.raises(ConfigError, match=words):
            load_config(_write(tmp_path, base + f"[geometry]\n{bad}\n"))


def test_the_geometry_head_reads_a_face_and_its_mirror_image_alike_though_the_other_windows_lean_sideways():
    """Synthetic expressions that shift the mouth sideways, one way per class: mirrored in the fit, the head
    cannot learn the side as a cue (what the mirrored face would contradict); unmirrored, it does."""
    from emotion.features import FeatureConfig
    from emotion.normalize import NormalizationConfig
    from emotion.training.config import GeometryConfig
    from emotion.training.geometry import fit_geometry_head, shape_inputs

    n = 300
    labels = np.arange(n) % 5
    photos = WindowSet(_expression_stills(n, seed=1), labels, np.array([f"p{i}" for i in range(n)]))
    leaning = np.repeat(_expression_stills(n, seed=2), 6, axis=1)
    leaning[:, :, 48:68, 0] += np.array([-12, -6, 0, 6, 12], np.float32)[labels][:, None, None]
    others = WindowSet(leaning, labels, np.array([f"s{i}" for i in range(n)]))
    norm, features = NormalizationConfig(), FeatureConfig(velocity=True)
    faces = leaning[:40]
    gaps = {}
    for mirrored in (True, False):
        torch.manual_seed(0)
        model = build_model(ModelConfig(blocks=((8, 2),), temporal_kernel=3, window=6, geometry_frames=3),
                            features.channels, 5)
        fit_geometry_head(model, photos, others, norm, features,
                          GeometryConfig(photos_share=0.5, l2=1e-3, mirror=mirrored))
        with torch.no_grad():
            own, flipped = (model.geometry(shape_inputs(model, f, norm, features)) for f in (faces, mirror(faces)))
        gaps[mirrored] = float((own - flipped).abs().max() / own.abs().max())
    assert gaps[True] < 0.02 and gaps[False] > 0.2, gaps


def test_identity_copies_keep_the_geometry_head_from_learning_a_rare_class_s_resting_traits():
    """The few people of each rare class all have high brows, Neutral people's brows vary: fitted on the
    photos as they are, the head reads new people at rest whose brows are high as an expression; with the
    photos also moved onto other Neutral face shapes, the brows stop being a cue and the mouth decides."""
    from emotion.classes import class_index
    from emotion.features import FeatureConfig
    from emotion.normalize import NormalizationConfig
    from emotion.training.config import GeometryConfig
    from emotion.training.geometry import fit_geometry_head, shape_inputs

    neutral, rng = class_index("Neutral"), np.random.default_rng(0)

    def faces(brows: np.ndarray, mouth: np.ndarray) -> np.ndarray:
        x = _faces(len(brows), 1, int(rng.integers(1 << 30))) * 0.4 + np.array([120.0, 90.0], np.float32)
        x[:, :, 17:27, 1] += brows[:, None, None]
        x[:, :, 48:68, 1] += mouth[:, None, None]
        return x

    stills, labels = [], []
    for c, mouth in enumerate((-12, -6, 0, 6, 12)):
        n = 400 if c == neutral else 40
        brows = rng.normal(0, 4, n) if c == neutral else np.full(n, 8.0)
        stills.append(faces(brows, rng.normal(mouth, 1.5, n)))
        labels.append(np.full(n, c))
    labels = np.concatenate(labels)
    photos = WindowSet(np.concatenate(stills), labels, np.array([f"p{i}" for i in range(len(labels))]))
    others = photos.subset(np.zeros(len(photos), bool))
    at_rest = faces(np.full(200, 8.0), rng.normal(0, 1.5, 200))     # new people, no expression, high brows
    norm, features = NormalizationConfig(), FeatureConfig(velocity=True)
    read_neutral = {}
    for copies in (0, 1):
        model = build_model(ModelConfig(blocks=((8, 2),), temporal_kernel=3, window=6, geometry_frames=3),
                            features.channels, 5)
        fit_geometry_head(model, photos, others, norm, features, GeometryConfig(l2=1e-3, identity_copies=copies))
        with torch.no_grad():
            logits = model.geometry(shape_inputs(model, at_rest, norm, features))
        read_neutral[copies] = float((logits.argmax(1) == neutral).float().mean())
    assert read_neutral[1] > 0.6 and read_neutral[1] - read_neutral[0] > 0.2, read_neutral


def test_appearance_head_is_fitted_with_the_geometry_head_on_the_photos_descriptors(tmp_path):
    """Stills whose shape says nothing and whose appearance says the class: the appearance head reads it,
    validation passes the validation photos' descriptors, and the network trains as without the heads."""
    from emotion.appearance import DESCRIPTOR_SIZE

    n, rng = 600, np.random.default_rng(3)
    labels = np.arange(n) % 5
    looks = np.full((n, DESCRIPTOR_SIZE), 0.05, np.float32)
    looks[:, :20] += rng.random((n, 20)) * 0.1  # some texture that says nothing
    looks[np.arange(n), 40 + labels * 300] += rng.uniform(0.5, 1.0, n)  # each class's own (its mirror: another)
    WindowSet(_faces(n, 1, 7), labels, np.array([f"p{i // 2}" for i in range(n)]), appearance=looks).save(
        tmp_path / "stills.npz")
    base = ('window = 8\nthreads = 1\n[[sources]]\nkind = "photos"\npath = "stills.npz"\ncount = 200\n'
            '[split]\nval_fraction = 0.2\n[optim]\nepochs = 1\nbatch_size = 32\nsamples_per_epoch = 64\n'
            '[model]\npreset = "compact"\nblocks = [[8, 2]]\ntemporal_kernel = 3\ngeometry_frames = 3\n')
    shape_only = train(load_config(_write(tmp_path, base)), tmp_path / "shape", progress=False, log=lambda msg: None)
    metrics = train(load_config(_write(tmp_path, base + "appearance_frames = 2\n[geometry]\nappearance_l2 = 0.01\n"
                                                    "network_weight = 0.25\n")),
                    tmp_path / "looks",
                    progress=False, log=lambda msg: None)
    a, b = load_checkpoint(tmp_path / "shape" / "best.pt"), load_checkpoint(tmp_path / "looks" / "best.pt")
    for key, value in a.model.state_dict().items():
        if not key.startswith("geometry."):
            torch.testing.assert_close(b.model.state_dict()[key], value, msg=key)
    assert b.model.appearance.weight.abs().sum() > 0 and b.extra["geometry"]["appearance"] is True
    assert float(b.model.network_weight) == 0.25 == b.extra["geometry"]["config"]["network_weight"]
    assert metrics["validation"]["accuracy"] >= 0.9 > shape_only["validation"]["accuracy"]
    WindowSet(_faces(n, 1, 7), labels, np.array([f"p{i // 2}" for i in range(n)])).save(tmp_path / "stills.npz")
    with pytest.raises(ValueError, match="prepare them again"):   # refused before the epochs, not after them
        train(load_config(_write(tmp_path, base + "appearance_frames = 2\n")), tmp_path / "old", progress=False,
              log=lambda msg: None)
