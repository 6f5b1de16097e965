"""Checkpoints: round trip, and every kind of bad file refused with a clear error."""

import pytest
import torch

from emotion.appearance import DESCRIPTOR_SIZE
from emotion.checkpoint import FORMAT_VERSION, CheckpointError, load_checkpoint, save_checkpoint
from emotion.classes import EMOTIONS
from emotion.features import FeatureConfig
from emotion.models import ModelConfig, build_model
from emotion.normalize import NormalizationConfig
from emotion.paths import DEFAULT_WEIGHTS

torch.set_num_threads(1)
CFG = ModelConfig(blocks=((8, 2), (16, 2)), window=20)
FEAT = FeatureConfig(velocity=True)
NORM = NormalizationConfig(remove_roll=False)


@pytest.fixture
def saved(tmp_path):
    torch.manual_seed(0)
    model = build_model(CFG, FEAT.channels, len(EMOTIONS))
    with torch.no_grad():                       # non-default BN statistics must survive the round trip too
        model.data_bn.running_mean.uniform_()
    path = save_checkpoint(tmp_path / "sub" / "m.pt", model, CFG, FEAT, NORM, EMOTIONS, {"val_acc": 0.5})
    return path, model.eval()


def _rewrite(path, **changes):
    data = torch.load(path, weights_only=True)
    data.update(changes)
    torch.save(data, path)


def test_round_trip(saved):
    path, model = saved
    ckpt = load_checkpoint(path, class_names=EMOTIONS)
    assert (ckpt.model_config, ckpt.feature_config, ckpt.norm_config) == (CFG, FEAT, NORM)
    assert ckpt.class_names == EMOTIONS and ckpt.window == 20 and ckpt.extra == {"val_acc": 0.5}
    assert ckpt.format_version == FORMAT_VERSION and not ckpt.model.training
    x = torch.randn(2, 4, 20, 68)
    with torch.no_grad():
        torch.testing.assert_close(ckpt.model(x), model(x))
    assert not list(path.parent.glob(".*tmp*"))


def test_ragcn_round_trip(tmp_path):
    cfg = ModelConfig(arch="ragcn", num_streams=2, blocks=((8, 2),))
    model = build_model(cfg, 2, 3).eval()
    path = save_checkpoint(tmp_path / "r.pt", model, cfg, FeatureConfig(False), NORM, ["a", "b", "c"], {})
    x = torch.randn(1, 2, 45, 68)
    with torch.no_grad():
        torch.testing.assert_close(load_checkpoint(path).model(x), model(x))


def test_missing_and_corrupt_files(tmp_path, saved):
    with pytest.raises(CheckpointError, match="no checkpoint at"):
        load_checkpoint(tmp_path / "absent.pt")
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"this is not a checkpoint")
    with pytest.raises(CheckpointError, match="not a readable checkpoint"):
        load_checkpoint(garbage)
    path, _ = saved
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(path.read_bytes()[:2000])
    with pytest.raises(CheckpointError, match="not a readable checkpoint"):
        load_checkpoint(truncated)
    other = tmp_path / "other.pt"
    torch.save({"weights": torch.zeros(3)}, other)
    with pytest.raises(CheckpointError, match="not an emotion checkpoint"):
        load_checkpoint(other)


def test_wrong_format_version(saved):
    path, _ = saved
    _rewrite(path, format_version=FORMAT_VERSION + 1)
    with pytest.raises(CheckpointError, match="format version"):
        load_checkpoint(path)


def test_class_names_mismatch(saved):
    path, _ = saved
    with pytest.raises(CheckpointError, match="expected"):
        load_checkpoint(path, class_names=list(reversed(EMOTIONS)))
    _rewrite(path, class_names=list(EMOTIONS[:4]) + ["Happy"])
    with pytest.raises(CheckpointError, match="distinct"):
        load_checkpoint(path)
    _rewrite(path, class_names=list(EMOTIONS[:4]))          # 4 names for a 5-way head
    with pytest.raises(CheckpointError, match="weights do not match"):
        load_checkpoint(path)


def test_graph_mismatch(saved):
    path, _ = saved
    graph = torch.load(path, weights_only=True)["graph"]
    _rewrite(path, graph={**graph, "edges": graph["edges"][:-1]})
    with pytest.raises(CheckpointError, match="different face graph.*1 added"):
        load_checkpoint(path)
    _rewrite(path, graph={**graph, "edges": list(reversed(graph["edges"]))})   # same edge set: accepted
    load_checkpoint(path)


def test_state_dict_mismatch(saved):
    path, _ = saved
    _rewrite(path, model_config={**CFG.to_dict(), "blocks": [[8, 2], [32, 2]]})
    with pytest.raises(CheckpointError, match="weights do not match.*size mismatch"):
        load_checkpoint(path)
    _rewrite(path, model_config={**CFG.to_dict(), "arch": "gru"})
    with pytest.raises(CheckpointError, match="invalid config"):
        load_checkpoint(path)


def test_save_refuses_inconsistent_input(tmp_path):
    model = build_model(CFG, 4, 5)
    with pytest.raises(ValueError, match="does not match its model config"):
        save_checkpoint(tmp_path / "a.pt", model, CFG, FeatureConfig(velocity=False), NORM, EMOTIONS, {})
    with pytest.raises(ValueError, match="JSON-like"):
        save_checkpoint(tmp_path / "b.pt", model, CFG, FEAT, NORM, EMOTIONS, {"cm": object()})
    assert not list(tmp_path.iterdir())


def test_shipped_weights_load_and_their_configs_round_trip_unchanged():
    data = torch.load(DEFAULT_WEIGHTS, map_location="cpu", weights_only=True)
    ckpt = load_checkpoint(DEFAULT_WEIGHTS, class_names=EMOTIONS)
    for key, config in (("model_config", ckpt.model_config), ("feature_config", ckpt.feature_config),
                        ("norm_config", ckpt.norm_config)):
        assert config.to_dict() == data[key], key


def test_an_appearance_head_for_other_descriptors_is_refused_by_name(tmp_path):
    config = ModelConfig(blocks=((8, 2), (16, 2)), window=20, geometry_frames=4, appearance_frames=4)
    model = build_model(config, FEAT.channels, len(EMOTIONS))
    path = save_checkpoint(tmp_path / "m.pt", model, config, FEAT, NORM, EMOTIONS, {})
    load_checkpoint(path)
    state = torch.load(path, weights_only=True)["state_dict"]
    state["appearance.weight"] = state["appearance.weight"][:, :1764]   # the 64-pixel crop's descriptor
    _rewrite(path, state_dict=state)
    refused = f"appearance head for 1764-value descriptors.*computes {DESCRIPTOR_SIZE}"
    with pytest.raises(CheckpointError, match=refused):
        load_checkpoint(path)


def test_network_weight_round_trips_and_an_earlier_appearance_checkpoint_loads_at_full_weight(tmp_path):
    config = ModelConfig(blocks=((8, 2), (16, 2)), window=20, geometry_frames=4, appearance_frames=4)
    model = build_model(config, FEAT.channels, len(EMOTIONS))
    with torch.no_grad():
        model.network_weight.fill_(0.25)
    path = save_checkpoint(tmp_path / "m.pt", model, config, FEAT, NORM, EMOTIONS, {})
    assert float(load_checkpoint(path).model.network_weight) == 0.25
    state = torch.load(path, weights_only=True)["state_dict"]
    del state["network_weight"]                       # saved before the expert weight existed
    _rewrite(path, state_dict=state)
    assert float(load_checkpoint(path).model.network_weight) == 1.0
    del state["appearance.weight"]                    # anything else missing is still refused
    _rewrite(path, state_dict=state)
    with pytest.raises(CheckpointError, match="do not match its model config"):
        load_checkpoint(path)
