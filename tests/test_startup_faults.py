"""Start-up faults of the real component process: each ends it with one clear error line and a non-zero exit
status (an unknown config key is only a warning). No rcnode is needed: every fault comes before the link."""

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from emotion.middleware.component import COMPONENT_MAIN, ComponentPorts, write_component_config
from emotion.middleware.processes import LOOPBACK, ManagedProcess, free_port, wait_until
from emotion.middleware.rcnode import topic_manager_proxy
from emotion.paths import REPO_ROOT

PREFIX = "emotionrecognition: start-up error: "


def write_config(tmp_path: Path, weights: Path, overrides: dict | None = None) -> Path:
    """A loopback config pointing at an rcnode that is not running."""
    values = {"Model.Weights": str(weights), **(overrides or {})}
    return write_component_config(tmp_path / "config", topic_manager_proxy(free_port(), LOOPBACK),
                                  ComponentPorts.pick(), values)


def run_component(config: Path, *argv: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(COMPONENT_MAIN), str(config), *argv], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=60, env={**os.environ, **(env or {})})


def assert_one_line_error(result: subprocess.CompletedProcess, status: int, *fragments: str) -> str:
    """The process failed with ``status`` and exactly one stderr line holding every fragment."""
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == status, result.stdout + result.stderr
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


def test_missing_weights(tmp_path):
    result = run_component(write_config(tmp_path, tmp_path / "none.pt"))
    assert_one_line_error(result, 1, PREFIX, "Model.Weights", "none.pt", "no checkpoint")


def test_corrupt_weights(tmp_path, random_weights):
    corrupt = tmp_path / "corrupt.pt"
    corrupt.write_bytes(random_weights.read_bytes()[:200])                # a truncated download
    result = run_component(write_config(tmp_path, corrupt))
    assert_one_line_error(result, 1, PREFIX, "Model.Weights", "corrupt.pt", "not a readable checkpoint")


def test_missing_predictor(tmp_path, random_weights):
    """A face-recognition-models install without its model file (shadowed through PYTHONPATH)."""
    package = tmp_path / "shadow" / "face_recognition_models"
    (package / "models").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    result = run_component(write_config(tmp_path, random_weights), env={"PYTHONPATH": str(package.parent)})
    assert_one_line_error(result, 1, PREFIX, "shape predictor", "shape_predictor_68_face_landmarks.dat")


def test_corrupt_predictor(tmp_path, random_weights):
    """A truncated download of dlib's model file: one line naming it, no traceback."""
    package = tmp_path / "shadow" / "face_recognition_models"
    (package / "models").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "models" / "shape_predictor_68_face_landmarks.dat").write_bytes(bytes([1, 1, 0x81, 0x88]) + b"\x03" * 500)
    result = run_component(write_config(tmp_path, random_weights), env={"PYTHONPATH": str(package.parent)})
    assert_one_line_error(result, 1, PREFIX, "shape_predictor_68_face_landmarks.dat", "dlib shape predictor")


@pytest.mark.parametrize("key, value, reason", [
    ("Endpoints.EmotionRecognition", "tcp -h 127.0.0.1 -p notaport", "invalid port value"),
    ("Endpoints.CommonBehavior", "carrier-pigeon -p 3", "invalid object adapter endpoint"),
    ("Endpoints.CameraRGBDSimplePubTopic", "tcp -h no-such-host.invalid -p 4000", "unknown host"),
    ("Proxies.TopicManager", "IceStorm/TopicManager:tcp -h localhost -p 99999x", "invalid port value"),
])
def test_bad_endpoint_or_proxy(tmp_path, random_weights, key, value, reason):
    result = run_component(write_config(tmp_path, random_weights, {key: value}))
    assert_one_line_error(result, 1, PREFIX, key, repr(value), reason)


def test_port_in_use(tmp_path, random_weights):
    with socket.socket() as squatter:
        squatter.bind((LOOPBACK, 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        value = f"tcp -h {LOOPBACK} -p {port}"
        result = run_component(write_config(tmp_path, random_weights, {"Endpoints.CommonBehavior": value}))
    assert_one_line_error(result, 1, PREFIX, "Endpoints.CommonBehavior", repr(value), "Address already in use")


def test_malformed_value_is_a_config_error(tmp_path, random_weights):
    result = run_component(write_config(tmp_path, random_weights, {"Model.Threads": 0}))
    assert_one_line_error(result, 2, "config error", "Model.Threads", ">= 1")


def test_unknown_key_is_only_a_warning(tmp_path, random_weights):
    config = write_config(tmp_path, random_weights, {"Model.Wieghts": "typo.pt"})
    process = ManagedProcess([sys.executable, "-u", str(COMPONENT_MAIN), str(config)], cwd=REPO_ROOT,
                             log_path=tmp_path / "component.log", name="component")
    with process:
        assert wait_until(lambda: "serving emotionrecognition" in process.output(), 60.0), process.output()
    assert process.returncode == 0, process.output()
    line = next(n for n, text in enumerate(config.read_text().splitlines(), 1) if text.startswith("Model.Wieghts"))
    warnings = [text for text in process.output().splitlines() if text.startswith("warning:")]
    assert warnings == [f"warning: {config}:{line}: unknown key 'Model.Wieghts' ignored"]
    assert "start-up error" not in process.output() and "emotionrecognition: stopped" in process.output()
