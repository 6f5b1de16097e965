"""docs/ARCHITECTURE.md is true to the code: every public name its table lists for a module exists there."""

import importlib
import re

import pytest

from emotion.paths import REPO_ROOT

DOC = REPO_ROOT / "docs" / "ARCHITECTURE.md"
ROW = re.compile(r"^\| `(?P<path>[^`]+)` \| [^|]+ \| (?P<api>.*) \|$")
NAME = re.compile(r"`([A-Za-z_][A-Za-z0-9_]*)(?=[`( :\[=])")


def listed() -> list[tuple[str, str]]:
    """(module, name) for every backticked name of the table's single-module rows (methods excluded)."""
    pairs = []
    for line in DOC.read_text().splitlines():
        match = ROW.match(line)
        if not match or not match["path"].endswith(".py") or "{" in match["path"]:
            continue
        path = match["path"]
        module = (path.removeprefix("src/").removesuffix(".py").replace("/", ".") if path.startswith("src/")
                  else path.removeprefix("generated/").removesuffix(".py"))
        pairs += [(module, name) for name in NAME.findall(match["api"])]
    return pairs


def test_the_table_lists_modules():
    modules = {module for module, _ in listed()}
    assert {"emotion.engine", "emotion.states", "emotion.perception.tracking", "specificworker",
            "emotion.middleware.worker"} <= modules


@pytest.mark.parametrize("module, name", listed())
def test_every_listed_name_exists(module, name):
    assert hasattr(importlib.import_module(module), name), f"{module} has no {name} (docs/ARCHITECTURE.md)"
