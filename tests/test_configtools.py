"""emotion.configtools: dataclass <-> dict round trips that refuse unknown keys, and the field checks."""

import math
from dataclasses import dataclass
from pathlib import Path

import pytest

from emotion.configtools import (DictConfig, checked, choice, integer, nonnegative, number, path, probability,
                                 table, to_plain)


@dataclass(frozen=True)
class Plan(DictConfig):
    name: str = "a"
    pairs: tuple[tuple[int, int], ...] = ((1, 2), (3, 4))
    where: Path = Path("x/y")
    options: dict = checked({"k": 1}, table)


def test_round_trip_gives_plain_values_and_tuples_back():
    plan = Plan(name="b", pairs=((5, 6),), where=Path("/tmp/p"))
    data = plan.to_dict()
    assert data == {"name": "b", "pairs": [[5, 6]], "where": "/tmp/p", "options": {"k": 1}}
    back = Plan.from_dict({k: v for k, v in data.items() if k != "where"})
    assert back.pairs == ((5, 6),) and isinstance(back.pairs[0], tuple) and back.where == Path("x/y")
    assert to_plain([plan, (Path("a"),)]) == [data, ["a"]]


def test_unknown_keys_and_non_tables_are_refused_by_name():
    with pytest.raises(ValueError, match=r"unknown Plan key\(s\) \['colour', 'size'\]; known: \['name', 'options'"):
        Plan.from_dict({"name": "c", "size": 2, "colour": "red"})
    with pytest.raises(ValueError, match="expected a table of Plan fields"):
        Plan.from_dict([("name", "c")])


def test_checked_dict_defaults_are_not_shared():
    first, second = Plan(), Plan()
    first.options["k"] = 2
    assert second.options == {"k": 1}


@pytest.mark.parametrize("check, good, bad", [
    (integer(0, 3), [(0, 0), (3, 3)], [-1, 4, 1.0, True, "2"]),
    (number(0.0, lo_open=True), [(1, 1.0), (0.5, 0.5)], [0, 0.0, -1, math.nan, math.inf, False, "1"]),
    (probability, [(0, 0.0), (1, 1.0)], [1.01, -0.1, True, math.nan]),
    (nonnegative, [(0, 0.0), (7.5, 7.5)], [-1e-9, math.inf, None]),
    (choice("x", "y"), [("y", "y")], ["z", None]),
    (path, [("a/b", Path("a/b"))], ["", 3]),
])
def test_checks_clean_good_values_and_refuse_bad_ones(check, good, bad):
    for value, cleaned in good:
        result = check(value)
        assert result == cleaned and type(result) is type(cleaned)
    for value in bad:
        with pytest.raises(ValueError, match="expected"):
            check(value)


def test_a_named_check_says_what_it_expects():
    with pytest.raises(ValueError, match=r"expected a probability in \[0, 1\], got 2"):
        probability(2)
    with pytest.raises(ValueError, match=r"expected a number <= 5.0, got 6.0"):
        number(hi=5.0)(6)
