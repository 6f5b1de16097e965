"""One CLI style: `emotion <cmd>: error: ...` in one line, exit 2 for usage and 1 for runtime, a default in
every --help, --version, no tracebacks, and Ctrl-C that says what it left (train, analyze)."""

import argparse
import importlib
import signal
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path

import pytest

from emotion import cli
from emotion.cli import COMMANDS, CommandParser, DefaultsFormatter
from emotion.paths import REPO_ROOT, SAMPLE_CLIP, shared_dir


def emotion(*args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "emotion", *args], capture_output=True, text=True, timeout=60,
                          **kwargs)


@pytest.mark.parametrize("name", list(COMMANDS))
def test_every_option_of_every_command_states_its_default(name):
    parser = CommandParser(prog=f"python -m emotion {name}", formatter_class=DefaultsFormatter)
    importlib.import_module(COMMANDS[name][0]).add_arguments(parser)
    formatter = DefaultsFormatter(parser.prog)
    for action in parser._actions:
        if (not action.option_strings or action.required
                or isinstance(action, (argparse._HelpAction, argparse._StoreTrueAction))):
            continue
        assert "default" in formatter._get_help_string(action).lower(), (name, action.option_strings)


def test_help_shows_defaults_and_version_matches_the_package():
    result = emotion("listen", "--help")
    assert result.returncode == 0
    help_text = " ".join(result.stdout.split())
    assert "(default: IceStorm/TopicManager:tcp -h localhost -p 9999)" in help_text
    assert "(default: tcp)" in help_text
    expected = f"emotion {metadata.version('emotionrecognition')}"
    assert emotion("--version").stdout.strip() == expected
    assert emotion("camera", "--version").stdout.strip() == expected


@pytest.mark.parametrize("args, fragment", [
    (["camera"], "the following arguments are required: source"),
    (["camera", "x.mp4", "--fps", "fast"], "argument --fps: 'fast' is not a number"),
    (["analyze", "nope.mp4"], "no such input: nope.mp4"),
    (["monitor", "--interval", "0"], "argument --interval: 0 must be > 0"),
])
def test_usage_errors_are_one_line_and_exit_2(args, fragment):
    result = emotion(*args)
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2, result.stderr
    assert len(lines) == 1 and lines[0].startswith(f"emotion {args[0]}: error: ") and fragment in lines[0], lines


def test_unknown_command_is_one_line_and_exit_2():
    result = emotion("nope")
    assert result.returncode == 2 and result.stderr.strip() == (
        "emotion: error: unknown command 'nope' (python -m emotion --help lists them)")


def test_an_unexpected_exception_is_one_line_exit_1_and_no_traceback(tmp_path, monkeypatch, capsys):
    (tmp_path / "broken_tool.py").write_text(
        "DESCRIPTION = 'a tool with a bug'\n"
        "def add_arguments(parser):\n    pass\n"
        "def run(args):\n    return {}['missing']\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setitem(COMMANDS, "broken", ("broken_tool", "a tool with a bug"))
    monkeypatch.delenv("EMOTION_DEBUG", raising=False)
    assert cli.main(["broken"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("emotion broken: error: unexpected KeyError") and "Traceback" not in err
    monkeypatch.setenv("EMOTION_DEBUG", "1")
    with pytest.raises(KeyError):
        cli.main(["broken"])


def interrupt_when(argv: list[str], ready, timeout_s: float = 120.0, **kwargs) -> subprocess.CompletedProcess:
    """Run ``argv``, send SIGINT once ``ready()`` is true, return its result."""
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs)
    deadline = time.monotonic() + timeout_s
    while not ready() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert process.poll() is None, "finished before it could be interrupted: " + process.communicate()[1]
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    return subprocess.CompletedProcess(argv, process.returncode, out, err)


def test_analyze_interrupted_says_which_partial_files_it_left(tmp_path, random_weights):
    out_csv, out_mp4 = tmp_path / "a.csv", tmp_path / "a.mp4"
    result = interrupt_when([sys.executable, "-m", "emotion", "analyze", str(SAMPLE_CLIP), "--weights",
                             str(random_weights), "--csv", str(out_csv), "--video", str(out_mp4)],
                            lambda: out_mp4.is_file() and out_csv.stat().st_size > 2000)
    lines = [line for line in result.stderr.splitlines() if line.startswith("emotion analyze:")]
    assert result.returncode == 130, result.stderr
    assert len(lines) == 1 and "interrupted after 0 of 1 inputs" in lines[0], result.stderr
    assert f"partial output left: {out_csv}, {out_mp4}" in lines[0]
    assert "Traceback" not in result.stderr


@pytest.mark.skipif(not (shared_dir() / "data" / "sfm").is_dir(), reason="Surrey Face Model absent")
def test_train_interrupted_gives_the_resume_hint(tmp_path):
    config = tmp_path / "smoke.toml"
    config.write_text((REPO_ROOT / "configs" / "train_smoke.toml").read_text().replace("epochs = 8", "epochs = 400")
                      .replace("patience = 8", "patience = 400"))
    run = tmp_path / "run"
    result = interrupt_when([sys.executable, "-m", "emotion", "train", "--config", str(config), "--out", str(run),
                             "--no-progress"], lambda: (run / "last.pt").is_file(), timeout_s=240.0)
    assert result.returncode == 130, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines[-1] == (f"emotion train: interrupted; the last finished epoch is in {run / 'last.pt'}, "
                         "run again with --resume to continue"), result.stderr
    assert "Traceback" not in result.stderr
    assert Path(run / "last.pt").is_file()
