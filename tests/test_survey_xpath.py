"""The XPath subset evaluator (task_types/survey/xpath.py) on the expressions pyxform passes through."""
from __future__ import annotations

import math

import pytest

from task_types.survey import xpath
from task_types.survey.form import find_cycle


def ev(expr, values=None, current=None, names=None):
    values = values or {}
    return xpath.evaluate(expr, lookup=values.get, current=current, names=names)


@pytest.mark.parametrize(("expr", "values", "current", "expected"), [
    ("${a} = 'yes'", {"a": "yes"}, None, True),
    ("${a} = 'yes'", {}, None, False),
    ("${phone} != ''", {"phone": ""}, None, False),
    (". >= 0 and . <= 500", {}, 12, True),
    (". >= 0 and . <= 500", {}, 501, False),
    (". <= ${total}", {"total": 10}, 11, False),
    ("${a} + ${b} * 2", {"a": 1, "b": 3}, None, 7.0),
    ("${a} div ${b}", {"a": 1, "b": 4}, None, 0.25),
    ("10 mod 3", {}, None, 1.0),
    ("-${a} < 0", {"a": 2}, None, True),
    ("selected(${d}, 'coffee')", {"d": ["tea", "coffee"]}, None, True),
    ("selected(${d}, 'soda')", {"d": ["tea", "coffee"]}, None, False),
    ("count-selected(.) > 1", {}, ["a", "b"], True),
    ("not(selected(., 'none') and count-selected(.) > 1)", {}, ["none", "tea"], False),
    ("not(selected (., 'yes') and selected (., 'no'))", {}, ["yes"], True),
    ("regex(${e}, '^[a-z]+@[a-z]+\\.vn$')", {"e": "an@ptit.vn"}, None, True),
    ("string-length(${t}) >= 3", {"t": "Hà"}, None, False),
    ("if(${n} > 0, round(${k} div ${n}, 3), 0)", {"n": 3, "k": 1}, None, 0.333),
    ("if(${n} > 0, round(${k} div ${n}, 3), 0)", {"n": 0, "k": 1}, None, 0.0),
    ("concat(${a}, '-', ${b})", {"a": "x", "b": 2}, None, "x-2"),
    (". <= today()", {}, "2000-01-01", True),
    (". <= today()", {}, "2999-01-01", False),
    ("${a} = 2", {"a": "2"}, None, True),  # a number on one side compares numbers
    ("${a} > ${b}", {"a": "10", "b": "9"}, None, True),
    ("true() or false()", {}, None, True),
    ("coalesce(${a}, 'none')", {}, None, "none"),
])
def test_expressions(expr, values, current, expected):
    assert ev(expr, values, current) == expected


def test_choice_filter_names_are_choice_columns():
    choice = {"name": "hue", "region": "central"}
    assert ev("region = ${r}", {"r": "central"}, names=choice.get) is True
    assert ev("name != 'none'", names=choice.get) is True


def test_division_by_zero_is_not_a_crash():
    assert math.isnan(ev("0 div 0"))
    assert ev("1 div 0") == math.inf


@pytest.mark.parametrize("bad", ["${a} = ", "foo(1)", "${a} = 'x", "(1 + 2", "${a} # 2", "1 2"])
def test_malformed_or_unsupported_expressions_are_refused(bad):
    with pytest.raises(xpath.XPathError):
        xpath.parse(bad)


def test_references_and_cycles():
    assert xpath.references("selected(${a}, 'x') and ${b} > . + ${a}") == {"a", "b"}
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set(), "c": {"a", "b"}}) is None
