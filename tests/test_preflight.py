"""Tools that tell the truth: each precondition checked first, a failure is one stderr line and a non-zero
exit (2: the command line is wrong, 1: the world is not as asked), before anything is started."""

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from emotion.middleware.processes import check_port_free, free_port
from emotion.tools.preflight import UsageError, check_checkpoint_file, check_suffix, check_writable


def tool(*args: str, timeout: float = 60.0, cwd: Path | None = None) -> tuple[int, list[str], str]:
    """(exit status, non-empty stderr lines, stdout) of ``python -m emotion ARGS``."""
    result = subprocess.run([sys.executable, "-m", "emotion", *args], capture_output=True, text=True,
                            timeout=timeout, cwd=cwd)
    return result.returncode, [line for line in result.stderr.splitlines() if line.strip()], result.stdout


def assert_one_line(status: int, lines: list[str], expected_status: int, command: str, *fragments: str) -> None:
    assert status == expected_status, lines
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"emotion {command}: error: "), lines[0]
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])


def test_rcnode_on_a_port_in_use(private_rcnode):
    status, lines, out = tool("rcnode", "--host", "127.0.0.1", "--port", str(private_rcnode.port),
                              "--publish-port", str(free_port()))
    assert_one_line(status, lines, 1, "rcnode", f"port {private_rcnode.port}", "already in use")
    assert "listening" not in out
    status, lines, _ = tool("rcnode", "--host", "127.0.0.1", "--port", str(free_port()),
                            "--publish-port", str(private_rcnode.publish_port))
    assert_one_line(status, lines, 1, "rcnode", "publish port", "already in use")


def test_listen_at_an_unreachable_rcnode():
    proxy = f"IceStorm/TopicManager:tcp -h 127.0.0.1 -p {free_port()}"
    status, lines, out = tool("listen", "--topic-manager", proxy, "--seconds", "30")
    assert_one_line(status, lines, 1, "listen", "rcnode unreachable", proxy)
    assert "subscribed" not in out


@pytest.mark.skipif(Path("/dev/video7").exists(), reason="this machine has a webcam 7")
def test_camera_with_no_such_webcam():
    status, lines, out = tool("camera", "7", "--endpoint", "")
    assert_one_line(status, lines, 1, "camera", "webcam 7")
    assert "published" not in out


def test_camera_jpeg_quality_out_of_range_is_refused_before_connecting():
    status, lines, _ = tool("camera", "7", "--jpeg-quality", "500")
    assert status == 2 and "500 is out of range 1..100" in lines[-1], lines


def test_synth_refuses_a_wrong_extension_and_writes_nothing(tmp_path):
    status, lines, _ = tool("synth", "--count", "5", "--out", str(tmp_path / "x.txt"))
    assert_one_line(status, lines, 2, "synth", "x.txt", ".npz")
    assert list(tmp_path.iterdir()) == []


def test_analyze_checks_every_output_before_analysing(tmp_path):
    photo = Path(__file__).resolve().parents[1] / "media" / "sample_face.mp4"
    status, lines, out = tool("analyze", str(photo), "--plot", str(tmp_path / "x.txt"))
    assert_one_line(status, lines, 2, "analyze", "--plot", "x.txt", ".png")
    status, lines, out2 = tool("analyze", str(photo), "--csv", "/proc/nope/a.csv")
    assert_one_line(status, lines, 1, "analyze", "--csv", "/proc/nope/a.csv", "cannot write")
    assert "face-frames" not in out + out2


def test_demo_refuses_an_unwritable_out_before_starting_anything(tmp_path):
    status, lines, out = tool("demo", "--once", "--out", "/proc/nope/d.mp4", cwd=tmp_path)
    assert_one_line(status, lines, 1, "demo", "--out /proc/nope/d.mp4", "cannot write")
    assert "rcnode on" not in out


def test_demo_refuses_a_corrupt_checkpoint_before_starting_anything(tmp_path):
    corrupt = tmp_path / "corrupt.pt"
    corrupt.write_bytes(os.urandom(2000))
    status, lines, out = tool("demo", "--once", "--weights", str(corrupt), "--out", str(tmp_path / "d.mp4"))
    assert_one_line(status, lines, 1, "demo", "corrupt.pt", "not a torch checkpoint")
    assert "rcnode on" not in out


def test_demo_refuses_a_zip_that_only_looks_like_a_checkpoint_before_starting_anything(tmp_path):
    """The demo loads the weights as the component would, so it fails at once, not after starting it."""
    fake = tmp_path / "fake.pt"
    with zipfile.ZipFile(fake, "w") as archive:
        archive.writestr("archive/data.pkl", b"not a pickle")
    status, lines, out = tool("demo", "--once", "--weights", str(fake), "--out", str(tmp_path / "d.mp4"))
    assert_one_line(status, lines, 1, "demo", "fake.pt", "its data.pkl is not a pickle")
    assert "rcnode on" not in out and not (tmp_path / "d.mp4").exists()


def test_preflight_helpers(tmp_path):
    assert check_suffix(Path("a.MP4"), (".mp4",), "--out") == Path("a.MP4")
    with pytest.raises(UsageError, match="must end in .npz"):
        check_suffix(Path("a.npz.txt"), (".npz",), "--out")
    target = tmp_path / "new" / "deeper" / "a.csv"
    assert check_writable(target, "--csv", (".csv",)) == target
    assert target.parent.is_dir() and not target.exists() and list(target.parent.iterdir()) == []
    with pytest.raises(UsageError, match="is a folder"):
        check_writable(tmp_path, "--csv")
    with pytest.raises(UsageError, match="no such file"):
        check_checkpoint_file(tmp_path / "none.pt", "--weights")
    with pytest.raises(ValueError, match="out of range"):
        check_port_free(70000)
