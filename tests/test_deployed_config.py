"""One source of tracker settings: the component, `analyze`, `prepare` and `bench perception` read the
same ``Perception.*`` keys of a component config and build identical TrackerConfigs; the defaults are the
deployed values of etc/config."""

import argparse
from dataclasses import fields

import pytest

from emotion.middleware.componentconfig import load_component_config
from emotion.middleware.config import load_config, render_config
from emotion.paths import COMPONENT_CONFIG
from emotion.perception.tracking import TrackerConfig, load_tracker_config

import specificworker


def tool_args(module, config_path, *extra: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    module.add_arguments(parser)
    return parser.parse_args([*extra, "--config", str(config_path)])


def built_by_each(config_path) -> dict[str, TrackerConfig]:
    """The TrackerConfig each consumer builds from the component config at ``config_path``."""
    from emotion.bench import perception as bench
    from emotion.tools import analyze, prepare

    _, params = load_component_config(config_path, specificworker.SpecificWorker.all_parameters(),
                                                   warn=lambda line: None)
    return {
        "component": specificworker.SpecificWorker.tracker_settings(params),
        "analyze": analyze.tracker_config(tool_args(analyze, config_path, "clip.mp4")),
        "prepare": prepare.tracker_config(tool_args(prepare, config_path, "--format", "ravdess", "--out",
                                                    "w.npz")),
        "bench perception": bench.tracker_config(tool_args(bench, config_path)),
    }


def test_defaults_are_the_deployed_values():
    deployed = load_config(COMPONENT_CONFIG).section("Perception")
    assert deployed, "etc/config sets no Perception.* key"
    defaults = TrackerConfig()
    for key, value in deployed.items():
        assert getattr(defaults, key.removeprefix("Perception.")) == value, key
    assert load_tracker_config() == defaults


def test_every_consumer_builds_the_same_tracker(tmp_path):
    values = dict(load_config(COMPONENT_CONFIG).values)
    changed = {"Perception.detect_every": 7, "Perception.fine_every": 2, "Perception.max_tracks": 3,
               "Perception.detect_threshold": -0.25}
    path = tmp_path / "config"
    path.write_text(render_config({**values, **changed}))
    expected = TrackerConfig(detect_every=7, fine_every=2, max_tracks=3, detect_threshold=-0.25)
    assert expected != TrackerConfig()
    built = built_by_each(path)
    assert built == dict.fromkeys(built, expected)


def test_component_exposes_every_tracker_field_but_the_window():
    names = {spec.name for spec in specificworker.SpecificWorker.all_parameters()}
    assert {f"Perception.{f.name}" for f in fields(TrackerConfig)} - names == {"Perception.window"}


def test_a_bad_perception_value_names_file_and_key(tmp_path):
    path = tmp_path / "config"
    path.write_text('Perception.detect_every = 0\n')
    with pytest.raises(ValueError, match=r"config: tracker config detect_every must be > 0"):
        load_tracker_config(path)
