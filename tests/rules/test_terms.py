"""Term syntax errors name the rule and the term; dangerous regexes are refused at compile time."""

from __future__ import annotations

import time

import pytest

from bot.domain.errors import RuleError
from bot.rules import compile_rules
from bot.rules.engine import REGEX_INPUT_LIMIT
from bot.rules.terms import TermSyntaxError, check_backtracking, parse_term
from tests.rules.conftest import one, rule


@pytest.mark.parametrize(
    ("raw", "kind"),
    [
        ("эвакуация", "word"),
        ("=Курск", "exact"),
        ("обстрел*", "prefix"),
        ('"режим КТО"', "phrase"),
        ("/\\bКТО\\b/", "regex"),
        ('"Суджа"', "word"),
        ("БПЛА", "exact"),
    ],
)
def test_term_kind_follows_its_syntax(raw: str, kind: str) -> None:
    assert parse_term(raw).kind == kind


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        ("", "empty"),
        ("эв*", "at least 3"),
        ("=обстрел*", "only one of"),
        ('"режим КТО', "unbalanced"),
        ("/abc", "end with"),
        ("/(a/", "regex"),
        ("🔥", "no letters"),
        ("об*стрел", "only at the end"),
    ],
)
def test_bad_terms_are_refused_with_a_reason(raw: str, problem: str) -> None:
    with pytest.raises(TermSyntaxError, match=problem):
        parse_term(raw)


def test_compile_error_names_the_rule_and_the_term() -> None:
    with pytest.raises(RuleError) as err:
        compile_rules([rule("evacuation-sudzha", ["эвакуация", "эв*"])])
    assert "evacuation-sudzha" in str(err.value)
    assert "'эв*'" in str(err.value)
    assert err.value.value == "эв*"


def test_rule_without_positive_terms_is_invalid() -> None:
    with pytest.raises(RuleError, match="could never match"):
        compile_rules([rule("only-none", none_=["эвакуатор"])])


def test_near_needs_a_word_count_or_the_sentence_scope() -> None:
    with pytest.raises(RuleError, match="near"):
        compile_rules([rule("n", near=[("a1", "b1", -2)])])
    compile_rules([rule("n", near=[("a1", "b1", 0)])])  # 0 is SENTENCE, written "sentence" in TOML


def test_duplicate_rule_names_are_refused() -> None:
    with pytest.raises(RuleError, match="two rules"):
        compile_rules([rule("x", ["Суджа"]), rule("x", ["Курск"])])


@pytest.mark.parametrize(
    "pattern",
    [
        "(a+)+$",
        "(a*)*b",
        "(\\w+\\s?)+$",
        "(a|aa)+$",
        "(?:x+y*)+",
        "(a|b)*c",
        "(.*)\\1",
        "(?P<x>a)(?P=x)",
        ".*.*.*.*.*x",
    ],
)
def test_catastrophic_regex_shapes_are_refused(pattern: str) -> None:
    with pytest.raises(TermSyntaxError):
        check_backtracking(pattern)


@pytest.mark.parametrize(
    "pattern",
    [
        "\\bКТО\\b",
        "обстрел\\w*",
        "(?:a|b)c",
        "(a+)++",
        "(?>a+)+",
        "\\d{1,3} км",
        "[(+*]+x",
        "(ab){2,5}",
        "a{2}b+",
    ],
)
def test_ordinary_regexes_are_accepted(pattern: str) -> None:
    check_backtracking(pattern)


def test_regex_runs_on_a_bounded_prefix_of_huge_input() -> None:
    m = one("/a\\w*z/")
    text = "a" * (REGEX_INPUT_LIMIT * 5)
    started = time.perf_counter()
    assert m.match(text) == []
    assert time.perf_counter() - started < 10  # generous: this is a hang guard, not a benchmark
