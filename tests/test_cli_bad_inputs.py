"""Every CLI tool against a table of bad inputs: one stderr line, a non-zero exit, never a traceback.

Bad arguments, malformed and unreachable Ice endpoints, a port in use, hostile files (a PNG header
declaring 30000x30000, checkpoints whose model config asks for 40 000 channels or a 50M-frame window, a
truncated .npz, a binary or oversized config, a 200 KB CSV field)."""

import socket
import subprocess
import sys
import zipfile
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from emotion.middleware.processes import free_port
from emotion.paths import SAMPLE_CLIP

TIMEOUT_S = 60


def emotion(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "emotion", *args], capture_output=True, text=True,
                          timeout=TIMEOUT_S)


def hostile_checkpoint(weights: Path, out: Path, **model_changes) -> Path:
    """The checkpoint with its model config changed (its weights left as they are)."""
    data = torch.load(weights, weights_only=True)
    data["model_config"] = {**data["model_config"], **model_changes}
    torch.save(data, out)
    return out


def png_claiming(out: Path, side: int) -> Path:
    png = bytearray(cv2.imencode(".png", np.zeros((8, 8, 3), np.uint8))[1].tobytes())
    png[16:24] = side.to_bytes(4, "big") * 2
    out.write_bytes(bytes(png))
    return out


@pytest.fixture(scope="module")
def files(tmp_path_factory, random_weights) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("bad_inputs")
    wide = hostile_checkpoint(random_weights, tmp / "wide.pt", blocks=[[40000, 1]])
    long = hostile_checkpoint(random_weights, tmp / "long.pt", window=50_000_000)
    windows = tmp / "w.npz"
    np.savez(windows, landmarks=np.zeros((4, 45, 68, 2), np.float32))
    from emotion.classes import EMOTIONS
    from emotion.datasets.windows import WindowSet
    good = WindowSet(np.random.default_rng(0).normal(100, 10, (10, 45, 68, 2)).astype(np.float32),
                     np.arange(10) % len(EMOTIONS), np.array([f"g{i}" for i in range(10)])).save(tmp / "good.npz")
    truncated = tmp / "truncated.npz"
    truncated.write_bytes(windows.read_bytes()[:200])
    binary = tmp / "binary.toml"
    binary.write_bytes(bytes(range(256)) * 8)
    big_blocks = tmp / "blocks.toml"
    big_blocks.write_text('[model]\nblocks = [[40000, 1]]\n[[sources]]\nkind = "synth"\ncount = 10\n')
    big_window = tmp / "window.toml"
    big_window.write_text('window = 50000000\n[[sources]]\nkind = "synth"\ncount = 10\n')
    init = tmp / "init.toml"
    init.write_text(f'init = "{wide}"\n[[sources]]\nkind = "synth"\ncount = 10\n')
    manifest = tmp / "manifest.csv"
    manifest.write_text("path,label\n" + "x" * 200_000 + ",Happy\n")
    component_binary = tmp / "config.bin"
    component_binary.write_bytes(b"\xff\xfe\x00" * 100)
    return {"good": good, "wide": wide, "long": long, "truncated": truncated, "binary": binary, "blocks": big_blocks,
            "window": big_window, "init": init, "manifest": manifest, "png": png_claiming(tmp / "bomb.png", 30000),
            "component_binary": component_binary, "tmp": tmp}


def unreachable() -> str:
    return f"tcp -h 127.0.0.1 -p {free_port()}"


CASES = {  # id: argv (strings; {name} is replaced by files[name]); expected exit status
    "analyze --fps -5": (["analyze", str(SAMPLE_CLIP), "--fps", "-5"], 2),
    "analyze --fps nan": (["analyze", str(SAMPLE_CLIP), "--fps", "nan"], 2),
    "analyze --switch-margin 2": (["analyze", str(SAMPLE_CLIP), "--switch-margin", "2"], 2),
    "analyze 30000x30000 PNG": (["analyze", "{png}", "--quiet"], 1),
    "analyze 40000-channel checkpoint": (["analyze", str(SAMPLE_CLIP), "--weights", "{wide}"], 1),
    "analyze 50M-frame checkpoint": (["analyze", str(SAMPLE_CLIP), "--weights", "{long}"], 1),
    "evaluate 40000-channel checkpoint": (["evaluate", "--checkpoint", "{wide}", "--data", "{good}"], 1),
    "evaluate 50M-frame checkpoint": (["evaluate", "--checkpoint", "{long}", "--data", "{good}"], 1),
    "evaluate truncated npz": (["evaluate", "--data", "{truncated}"], 1),
    "evaluate --batch-size 0": (["evaluate", "--data", "{truncated}", "--batch-size", "0"], 2),
    "train binary config": (["train", "--config", "{binary}", "--out", "{tmp}/run1"], 2),
    "train 40000-channel blocks": (["train", "--config", "{blocks}", "--out", "{tmp}/run2"], 2),
    "train 50M-frame window": (["train", "--config", "{window}", "--out", "{tmp}/run3"], 2),
    "train init from a 40000-channel checkpoint": (["train", "--config", "{init}", "--out", "{tmp}/run5",
                                                   "--no-progress"], 1),
    "train --threads 0": (["train", "--config", "{blocks}", "--out", "{tmp}/run4", "--threads", "0"], 2),
    "prepare 200 KB manifest field": (["prepare", "--format", "manifest", "--manifest", "{manifest}",
                                       "--out", "{tmp}/m.npz"], 1),
    "prepare --window 0": (["prepare", "--format", "manifest", "--manifest", "{manifest}", "--out",
                            "{tmp}/m.npz", "--window", "0"], 2),
    "synth --count -1": (["synth", "--count", "-1", "--out", "{tmp}/s.npz"], 2),
    "camera --fps 0": (["camera", str(SAMPLE_CLIP), "--fps", "0"], 2),
    "camera malformed --topic-manager": (["camera", str(SAMPLE_CLIP), "--topic-manager", "not a proxy ::"], 1),
    "camera malformed --endpoint": (["camera", str(SAMPLE_CLIP), "--endpoint", "tcp -p notaport"], 1),
    "listen malformed --topic-manager": (["listen", "--topic-manager", "IceStorm/TopicManager:tcp -h"], 1),
    "listen unreachable --topic-manager": (["listen", "--topic-manager", "IceStorm/TopicManager:{unreachable}",
                                            "--seconds", "5"], 1),
    "listen --seconds -1": (["listen", "--seconds", "-1"], 2),
    "monitor malformed --proxy": (["monitor", "--proxy", "commonbehavior:tcp -p x", "--once"], 1),
    "monitor unreachable --proxy": (["monitor", "--proxy", "commonbehavior:{unreachable}", "--once"], 1),
    "monitor --interval -1": (["monitor", "--interval", "-1"], 2),
    "rcnode --port 70000": (["rcnode", "--port", "70000"], 2),
}


def check_one_line(result: subprocess.CompletedProcess, status: int, name: str) -> None:
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    assert result.returncode == status, (result.returncode, result.stderr[-2000:])
    assert len(lines) == 1 and lines[0].startswith(f"emotion {name}: error: "), lines
    assert "unexpected" not in lines[0], lines          # a refusal that says why, not a caught accident


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_is_one_line_and_a_non_zero_exit(case, files):
    argv, status = CASES[case]
    argv = [arg.replace("{unreachable}", unreachable()).format(**files) if "{" in arg else arg for arg in argv]
    check_one_line(emotion(*argv), status, argv[0])


@pytest.mark.parametrize("argv", [["heads", "--stills", "x.npz", "--identity-scale", "-1"],
                                  ["heads", "--stills", "x.npz", "--folds", "1"],
                                  ["temporal", "--stills", "x.npz", "--nosuch"]])
def test_a_benchmark_s_bad_option_is_one_line(argv):
    check_one_line(emotion("bench", *argv), 2, f"bench {argv[0]}")


def test_ports_in_use_are_one_line(files, rcnode):
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        camera = emotion("camera", str(SAMPLE_CLIP), "--topic-manager", rcnode, "--endpoint",
                         f"tcp -h 127.0.0.1 -p {port}", "--max-frames", "1")
        check_one_line(camera, 1, "camera")
        listen = emotion("listen", "--topic-manager", rcnode, "--endpoint", f"tcp -h 127.0.0.1 -p {port}",
                         "--seconds", "5")
        check_one_line(listen, 1, "listen")
        node = emotion("rcnode", "--port", str(port))
        check_one_line(node, 1, "rcnode")


@pytest.mark.parametrize("kind", ["binary", "fifo", "oversized", "40000-channel weights", "50M-frame weights"])
def test_component_refuses_a_bad_config_with_one_line(kind, files, tmp_path, random_weights):
    import os

    from emotion.middleware.config import load_config
    from emotion.paths import COMPONENT_CONFIG, REPO_ROOT
    path = tmp_path / "config"
    if kind == "binary":
        path.write_bytes(files["component_binary"].read_bytes())
    elif kind == "fifo":
        os.mkfifo(path)
    elif kind == "oversized":
        path.write_text("# padding\n" * 200_000)                        # 2 MB, over the 1 MiB limit
    else:
        weights = files["wide" if kind.startswith("40000") else "long"]
        values = dict(load_config(COMPONENT_CONFIG).values, **{"Model.Weights": str(weights)})
        from emotion.middleware.config import render_config
        path.write_text(render_config(values))
    result = subprocess.run([sys.executable, str(REPO_ROOT / "generated" / "emotionrecognition.py"), str(path),
                             *(["--startup-check"] if not kind.endswith("weights") else [])],
                            capture_output=True, text=True, timeout=TIMEOUT_S)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert "Traceback" not in result.stderr and result.returncode in (1, 2), result.stderr[-2000:]
    assert len(lines) == 1 and lines[0].startswith("emotionrecognition: "), lines
