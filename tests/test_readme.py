"""The README's commands, run as a new user types them.

Every ``bash`` block of README.md is one recipe, run line by line by ``Recipe``: ``CMD &`` starts CMD
in the background and waits for the line it prints once it is up, ``kill %N ...`` stops those jobs
(each must end cleanly), anything else runs in the foreground and must exit 0. ``python`` is the
project's venv, as the README says. Recipes run as written except for what cannot run here, named in
each test: the photos' checkout (``PATH/facial_expressions``, a fixture of real faces in its layout), a
smaller copy of the training config (the real one trains for ~22 minutes) and `make test` itself (what
CI runs). A bash block no test knows fails ``test_every_readme_block_is_run``.
"""

import argparse
import os
import re
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from emotion.middleware.processes import check_port_free
from emotion.paths import REPO_ROOT, shared_dir
from face_photos import muxspace_checkout

README = REPO_ROOT / "README.md"
READY = {"rcnode": "IceStorm listening", "camera": "camera: ", "bin/emotionrecognition": "serving"}
"""What a background command prints once it is up (keyed by its program, or ``emotion`` tool, name)."""
DEFAULT_PORTS = (9999, 9998, 10096, 10006, 11006, 10097)
"""The ports the live recipe's defaults bind (etc/config, etc/rcnode.conf, the camera tool)."""


def fenced_blocks() -> list[tuple[str, list[str]]]:
    """Each fenced block of the README as (language, its lines)."""
    blocks, language, lines = [], None, []
    for line in README.read_text().splitlines():
        if line.startswith("```"):
            if language is None:
                language, lines = line[3:].strip(), []
            else:
                blocks.append((language, lines))
                language = None
        elif language is not None:
            lines.append(line)
    return blocks


def readme_blocks() -> list[list[str]]:
    """Each ``bash`` block of the README as its command lines (comments and blanks dropped)."""
    return [[line for line in (raw.split(" #")[0].strip() for raw in lines) if line and not line.startswith("#")]
            for language, lines in fenced_blocks() if language == "bash"]


def block_starting(first: str) -> list[str]:
    """The README bash block whose first command starts with ``first``."""
    found = [block for block in readme_blocks() if block and block[0].startswith(first)]
    assert len(found) == 1, f"README has {len(found)} bash blocks starting with {first!r}"
    return found[0]


RECIPES = ("make demo", "python -m emotion rcnode &", "python -m emotion prepare")
"""The first line of each README bash block, each run by one test below."""


def test_every_readme_block_is_run():
    firsts = [block[0] for block in readme_blocks() if block]
    assert len(firsts) == len(readme_blocks()), "an empty bash block in the README"
    unknown = [first for first in firsts if not first.startswith(RECIPES)]
    assert not unknown and len(firsts) == len(RECIPES), f"README bash blocks no test runs: {unknown}"


class Recipe:
    """Runs README lines in ``cwd`` as a shell user would; background jobs are ended at ``close``."""

    def __init__(self, cwd: Path, substitutions: dict[str, str] | None = None, timeout_s: float = 300.0) -> None:
        self.cwd = cwd
        self.substitutions = substitutions or {}
        self.timeout_s = timeout_s
        self.env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
                        OMP_NUM_THREADS="1")
        self.jobs: list[subprocess.Popen] = []
        self.outputs: dict[str, str] = {}

    def run(self, line: str) -> str:
        """Run one README line; its output (foreground) or its first lines (background)."""
        for placeholder, value in self.substitutions.items():
            line = line.replace(placeholder, value)
        if line.startswith("kill "):
            return self._kill([int(spec.lstrip("%")) for spec in line.split()[1:]])
        if line.endswith("&"):
            return self._start(line[:-1].strip())
        done = subprocess.run(["bash", "-c", line], cwd=self.cwd, env=self.env, capture_output=True, text=True,
                              timeout=self.timeout_s)
        assert done.returncode == 0, f"{line!r} exited {done.returncode}: {done.stderr[-2000:]}"
        self.outputs[line] = done.stdout
        return done.stdout

    def _start(self, command: str) -> str:
        words = shlex.split(command)
        program = words[3] if words[:3] == ["python", "-m", "emotion"] else words[0]
        job = subprocess.Popen(["bash", "-c", f"exec {command}"], cwd=self.cwd, env=self.env, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
        self.jobs.append(job)
        seen, deadline = [], time.monotonic() + 120
        while time.monotonic() < deadline:
            line = job.stdout.readline()
            if not line:
                break
            seen.append(line)
            if READY[program] in line:
                return "".join(seen)
        pytest.fail(f"{command!r} did not print {READY[program]!r}: {''.join(seen)[-2000:]}")

    def _kill(self, numbers: list[int]) -> str:
        for n in numbers:
            self.jobs[n - 1].send_signal(signal.SIGTERM)
        for n in numbers:
            job = self.jobs[n - 1]
            assert job.wait(timeout=30) == 0, f"job %{n} ({job.args}) did not stop cleanly: {job.returncode}"
        return ""

    def close(self) -> None:
        for job in self.jobs:
            if job.poll() is None:
                os.killpg(job.pid, signal.SIGKILL)
                job.wait()


def _taken(port: int) -> bool:
    try:
        check_port_free(port)
    except OSError:
        return True
    return False


def test_live_recipe_runs_as_written():
    """rcnode, camera and component in the background, then listen and monitor see the face."""
    busy = [port for port in DEFAULT_PORTS if _taken(port)]
    if busy:
        pytest.skip(f"the live recipe uses the default ports; {busy} are taken by another process here")
    recipe = Recipe(REPO_ROOT, timeout_s=90)
    try:
        for line in block_starting("python -m emotion rcnode &"):
            recipe.run(line)
    finally:
        recipe.close()
    listened = next(out for line, out in recipe.outputs.items() if " listen" in line)
    monitored = next(out for line, out in recipe.outputs.items() if " monitor" in line)
    assert re.search(r"face #\d+: \w+ +\d+%", listened), listened[-2000:]     # a face with its label
    assert "faces" in monitored.lower() and "period" in monitored.lower(), monitored


def test_replacing_emotionrecognition2_config_lines_start(tmp_path):
    """The README's two config lines for emotionrecognition2's place give a config that starts."""
    lines = _config_block()
    config = (REPO_ROOT / "etc" / "config").read_text()
    for line in lines:
        key = line.split("=")[0].strip()
        config, n = re.subn(rf"^{re.escape(key)} = .*$", line, config, flags=re.M)
        assert n == 1, f"etc/config has no line for {key}"
    (tmp_path / "config").write_text(config)
    done = subprocess.run([str(REPO_ROOT / "bin" / "emotionrecognition"), str(tmp_path / "config"), "--startup-check"],
                          capture_output=True, text=True, timeout=120, cwd=REPO_ROOT)
    if done.returncode == 1 and "Address already in use" in done.stderr:
        pytest.skip(f"the default ports are taken here: {done.stderr.strip()}")
    assert done.returncode == 0 and "OK" in done.stdout, done.stderr


def _config_block() -> list[str]:
    """The README's plain block of ``Key = value`` lines (the emotionrecognition2 replacement)."""
    found = [[line.strip() for line in lines if line.strip()] for language, lines in fenced_blocks()
             if not language and all(re.fullmatch(r"[\w.]+ = .+", line.strip()) for line in lines if line.strip())]
    assert len(found) == 1, found
    return found[0]


needs_shared = pytest.mark.skipif(not (shared_dir() / "media").is_dir() or not (shared_dir() / "data" / "sfm").is_dir(),
                                  reason=f"needs {shared_dir()}/media and {shared_dir()}/data/sfm")
SMALL_TRAINING = {r"^count = 30000$": "count = 400", r"^count = 40000$": "count = 400",
                  r"^epochs = 16$": "epochs = 1", r"^samples_per_epoch = 8192 ": "samples_per_epoch = 256 "}
"""The shipping config made small enough for CI: every other setting as shipped."""


@needs_shared
def test_training_recipe_runs_on_photos_in_muxspace_layout(tmp_path):
    """prepare -> train -> evaluate -> bench temporal -> ship (copy and export), as written, in a fresh
    folder: real faces in the muxspace layout for PATH, the shipping config with fewer windows and one epoch."""
    config = (REPO_ROOT / "configs" / "train_default.toml").read_text()
    for pattern, small in SMALL_TRAINING.items():
        config, n = re.subn(pattern, small, config, flags=re.M)
        assert n == 1, f"configs/train_default.toml has no line matching {pattern!r}"
    (tmp_path / "configs").mkdir()
    (tmp_path / "configs" / "train_default.toml").write_text(config)
    (tmp_path / "media").symlink_to(REPO_ROOT / "media")
    (tmp_path / "weights").mkdir()                          # the repository's folder, empty: nothing shipped is touched
    checkout = muxspace_checkout(tmp_path / "data")
    recipe = Recipe(tmp_path, {"PATH/facial_expressions": str(checkout)}, timeout_s=600)
    try:
        for line in block_starting("python -m emotion prepare"):
            recipe.run(line)
    finally:
        recipe.close()
    out = recipe.outputs
    assert (tmp_path / "runs" / "data" / "muxspace_stills.npz").is_file()
    assert (tmp_path / "runs" / "default" / "best.pt").is_file()
    evaluated = next(text for line, text in out.items() if " evaluate " in line)
    assert "macro-F1" in evaluated or "macro_f1" in evaluated, evaluated
    benched = next(text for line, text in out.items() if " bench temporal" in line)
    assert "onset" in benched.lower(), benched
    from emotion.classifier import load_classifier
    assert load_classifier(tmp_path / "weights" / "emotion_stgcn.onnx").class_names == ("Happy", "Sad", "Neutral", "Anger", "Surprise")


def test_make_targets_do_what_the_readme_says(tmp_path):
    """`make test` is what CI runs (.ci/run) and runs the suite; `make demo` sets up, then its demo runs
    here as written (the shipped weights, the sample clip) and writes demo.mp4."""
    block = block_starting("make demo")
    assert block == ["make demo", "make test"], block
    plans = {target: subprocess.run(["make", "-n", "--no-print-directory", "-C", str(REPO_ROOT), target], capture_output=True, text=True,
                                    timeout=30).stdout.splitlines() for target in ("demo", "test")}
    assert plans["test"][-1] == ".venv/bin/python -m pytest -q" and "scripts/setup.sh" in plans["test"][0]
    assert re.search(r"^\s*make test\s*$", (REPO_ROOT / ".ci" / "run").read_text(), flags=re.M)
    demo = plans["demo"][-1]
    assert "scripts/setup.sh" in plans["demo"][0] and demo.startswith(".venv/bin/python -m emotion demo")
    recipe = Recipe(tmp_path, {".venv/bin/python": sys.executable}, timeout_s=240)
    output = recipe.run(demo)
    assert "face #1:" in output and (tmp_path / "demo.mp4").stat().st_size > 10_000, output[-2000:]


DOCS = (README, *sorted((REPO_ROOT / "docs").glob("*.md")), REPO_ROOT / "weights" / "MODEL_CARD.md")


def documented_commands() -> list[tuple[str, list[str]]]:
    """Every complete ``python -m emotion ...`` command in the docs' code, as (file, arguments); those
    mentions (the bare command name) and commands with placeholders of several choices (``[--json]``,
    ``{a,b}``, ``...``, ``a/b``) or cut lines are left out."""
    found = []
    for path in DOCS:
        code = re.findall(r"```.*?```|`[^`\n]+`", path.read_text(), flags=re.S)
        for span in code:
            for line in span.strip("`").splitlines():
                match = re.search(r"python -m emotion ([a-z]+(?: [^#`|&]*)?)", line)
                if not match or re.search(r"[\[{\\]|\.\.\.|^[a-z]+/", match[1]):
                    continue
                words = shlex.split(match[1])
                if len(words) > (2 if words[0] == "bench" else 1):
                    found.append((path.name, words))
    return found


def test_every_documented_command_parses():
    """The docs name no option or value the tools do not take (each parsed by the command's own parser)."""
    from emotion.cli import command_parser

    commands = documented_commands()
    assert len(commands) >= 20, commands
    for where, (name, *rest) in commands:
        _, parser = command_parser(name)
        try:
            args = parser.parse_args(rest)
            if name == "bench":
                module = __import__(f"emotion.bench.{args.name}", fromlist=["add_arguments"])
                sub = argparse.ArgumentParser(prog=f"bench {args.name}")
                module.add_arguments(sub)
                sub.parse_args(args.options)
        except SystemExit:
            pytest.fail(f"{where}: `python -m emotion {shlex.join([name, *rest])}` does not parse")
