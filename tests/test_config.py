"""Config format, parameters, and the component's answer to a malformed config."""

import subprocess
import sys

import pytest

from emotion.middleware.component import COMPONENT_MAIN
from emotion.middleware.config import ConfigError, load_config, parse_config, render_config
from emotion.middleware.parameters import ParameterSet, ParameterSpec
from emotion.middleware.startup import interface_structs
from emotion.paths import REPO_ROOT


def test_parse_converts_nests_and_keeps_quoted_strings():
    config = parse_config(
        '# comment\n\nPeriod.Compute = 50\nA.Ratio=0.5\nA.On = true\nIce.Warn.Connections = "0"\n'
        'Proxies.X = "x:tcp -h h -p 1"\nA.Raw = a=b\n', "cfg")
    assert config.get("Period.Compute") == 50 and config.get("A.Ratio") == 0.5 and config.get("A.On") is True
    assert config.get("Ice.Warn.Connections") == "0"
    assert config.get("A.Raw") == "a=b"          # split on the first '=' only
    assert config.nested()["A"] == {"Ratio": 0.5, "On": True, "Raw": "a=b"}
    assert config.section("Ice") == {"Ice.Warn.Connections": "0"}
    assert config.line("Proxies.X") == 7


@pytest.mark.parametrize("text, line, key, problem", [
    ("A.B = 1\nPeriod.Compute 50\n", 2, None, "expected 'Key = value'"),
    ("A.B = 1\nA.B = 2\n", 2, "A.B", "set twice (first on line 1)"),
    ("A.B = 1\nA = 2\n", 2, "A", "clashes with 'A.B'"),
    ('X.Y = "open\n', 1, "X.Y", "unterminated"),
    ("X..Y = 1\n", 1, "X..Y", "invalid key"),
    (" = 1\n", 1, None, "empty key"),
])
def test_errors_name_file_line_and_key(text, line, key, problem):
    with pytest.raises(ConfigError) as info:
        parse_config(text, "etc/bad")
    error = info.value
    assert (error.line, error.key) == (line, key)
    assert problem in str(error) and str(error).startswith(f"etc/bad:{line}:") and "\n" not in str(error)


def test_unreadable_file_and_render_round_trip(tmp_path):
    with pytest.raises(ConfigError, match="cannot read config"):
        load_config(tmp_path / "missing")
    values = {"A.S": "tcp -p 1", "A.I": 3, "A.F": 0.25, "A.B": False}
    assert parse_config(render_config(values)).values == values


def test_parameter_set_validates_all_before_applying():
    params = ParameterSet([ParameterSpec("P.Period", int, 50, editable=True, minimum=1),
                           ParameterSpec("P.Mode", str, "push", choices=("push", "poll")),
                           ParameterSpec("P.On", bool, False, editable=True)])
    assert params.update({"P.Period": "20", "P.On": "true"}) == {"P.Period": 20, "P.On": True}
    for changes, reason in [({"P.Period": "0"}, ">= 1"), ({"P.Period": "fast"}, "must be an int"),
                            ({"P.Mode": "poll"}, "read-only"), ({"P.Nope": 1}, "unknown parameter"),
                            ({"P.On": "maybe"}, "true or false")]:
        with pytest.raises(ValueError, match=reason):
            params.update({"P.On": False, **changes})
    assert params.snapshot() == {"P.Period": 20, "P.Mode": "push", "P.On": True}   # nothing half-applied


def run_component(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(COMPONENT_MAIN), *args], capture_output=True, text=True,
                          timeout=30, cwd=REPO_ROOT)


def test_malformed_config_gives_one_line_error_and_nonzero_exit(tmp_path):
    good = (REPO_ROOT / "etc" / "config").read_text()
    cases = {
        "syntax": (good + "Period.Compute 60\n", "expected 'Key = value'"),
        "type": (good.replace("Period.Compute = 50", "Period.Compute = fast"), "key 'Period.Compute'"),
        "missing": (good.replace("Endpoints.EmotionRecognition", "# "), "'Endpoints.EmotionRecognition': missing"),
    }
    for name, (text, expected) in cases.items():
        path = tmp_path / name
        path.write_text(text)
        result = run_component(str(path), "--startup-check")
        lines = result.stderr.strip().splitlines()
        assert result.returncode == 2, result.stderr
        assert len(lines) == 1 and expected in lines[0] and str(path) in lines[0], (name, result.stderr)


def test_startup_check_exits_zero_and_warns_on_unknown_keys(tmp_path):
    result = run_component("--startup-check")          # the default etc/config
    assert result.returncode == 0, result.stderr
    structs = [name for name, _ in interface_structs()]
    assert {"RoboCompCameraRGBDSimple.TImage", "RoboCompEmotionRecognition.EmotionState",
            "RoboCompCommonBehavior.Parameter"} <= set(structs)
    assert all(f"startup check: {name}() -> " in result.stdout for name in structs)
    assert f"startup check: {len(structs)} structs built" in result.stdout
    assert "HardwareFailedException" not in result.stdout          # an exception, not a struct
    path = tmp_path / "config"
    path.write_text((REPO_ROOT / "etc" / "config").read_text() + "Camera.Colour = 3\n")
    result = run_component(str(path), "--startup-check")
    assert result.returncode == 0 and "unknown key 'Camera.Colour'" in result.stderr


def test_endpoints_without_a_host_bind_to_endpoints_host():
    from emotion.middleware.startup import bind_host
    assert bind_host("tcp -p 10006", "localhost") == "tcp -p 10006 -h localhost"
    assert bind_host("tcp -h 192.168.1.20 -p 10097", "localhost") == "tcp -h 192.168.1.20 -p 10097"
    assert bind_host("tcp -p 1 : udp -p 2", "10.0.0.5") == "tcp -p 1 -h 10.0.0.5 : udp -p 2 -h 10.0.0.5"
    assert bind_host("tcp -p 10006", "") == "tcp -p 10006"


def test_refusals_echo_a_caller_s_value_cut_short():
    from emotion.middleware.parameters import ParameterSet, ParameterSpec
    params = ParameterSet([ParameterSpec("Period.Compute", int, 50, editable=True, minimum=1)])
    for changes in ({"Period.Compute": "9" * 10**6}, {"x" * 10**6: "1"}):
        with pytest.raises(ValueError) as info:
            params.update(changes)
        assert len(str(info.value)) < 300 and "1000000 characters" in str(info.value)


def test_rate_limited_log_cuts_long_lines_and_caps_its_sub_kinds():
    from emotion.middleware.ratelimit import MAX_DETAILS, MAX_MESSAGE_CHARS, RateLimitedLog
    lines: list[str] = []
    log = RateLimitedLog(60.0, lines.append)
    log.report("refused", "v" * 10**6)
    assert len(lines[0]) < MAX_MESSAGE_CHARS + 60 and "(1000000 characters)" in lines[0]
    for n in range(10 * MAX_DETAILS):
        log.report("refused", f"reason {n}", detail=f"shape {n}")
    assert len(lines) == 1 + MAX_DETAILS + 1                      # then one "other" line, then held back
    assert len(log._last) <= MAX_DETAILS + 2
