"""The regex guard holds by construction: every accepted rule regex runs under a per-post time budget."""

from __future__ import annotations

import logging
import pickle
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.rules import compile_rules
from bot.rules.terms import REGEX_TIMEOUT, TermSyntaxError, parse_term
from tests.rules.conftest import rule

# (.*a){20} slipped past the shape check and took 65-72 s on one 8 KB post before the time budget
BYPASS = "/(.*a){20}/"
HOSTILE_POST = "a" * 19 + "b" * 8_000  # 19 a: no match, so the search is exhaustive
# hang guards, not benchmarks: the budget is 50 ms, these bounds are two orders of magnitude above it
GENEROUS = 5.0


def test_the_known_bypass_gives_up_within_the_budget_and_says_so(caplog: pytest.LogCaptureFixture) -> None:
    term = parse_term(BYPASS)
    assert term.regex is not None
    started = time.perf_counter()
    with caplog.at_level(logging.WARNING):
        assert term.regex.spans(HOSTILE_POST) is None
    assert time.perf_counter() - started < GENEROUS
    assert "(.*a){20}" in caplog.text
    assert "gave up" in caplog.text


def test_a_timed_out_regex_does_not_stop_other_rules_from_matching() -> None:
    matcher = compile_rules([rule("slow", [BYPASS]), rule("words", ["эвакуация"])])
    text = "эвакуация " + HOSTILE_POST
    assert [m.rule for m in matcher.match(text)] == ["words"]


def test_rules_test_explains_the_timeout() -> None:
    matcher = compile_rules([rule("slow", [BYPASS]), rule("words", ["эвакуация"])])
    [slow] = [r for r in matcher.explain(HOSTILE_POST) if r.rule == "slow"]
    assert not slow.matched
    assert any("gave up after" in reason and BYPASS in reason for reason in slow.reasons)


def test_the_regex_still_matches_where_it_finishes_in_time() -> None:
    assert [m.rule for m in compile_rules([rule("slow", [BYPASS])]).match("a" * 25)] == ["slow"]


def test_a_guarded_regex_survives_the_trip_to_the_matcher_worker() -> None:
    matcher = compile_rules([rule("re", ["/суджа|курск/"])])
    copy = pickle.loads(pickle.dumps(matcher))
    assert [m.rule for m in copy.match("В Курск тихо")] == ["re"]


# Adversarial patterns: quantified groups around greedy wildcards, alternations, fixed and open counts.
_ATOMS = st.sampled_from(["a", ".", "\\w", "\\s", "[ab]", "b", "(?:a|aa)", "\\S"])
_QUANTS = st.sampled_from(["", "*", "+", "?", "{2}", "{1,5}", "{20}", "{3,}", "*?", "++"])


@st.composite
def _patterns(draw: st.DrawFn) -> str:
    parts = []
    for _ in range(draw(st.integers(1, 4))):
        inner = "".join(draw(_ATOMS) + draw(_QUANTS) for _ in range(draw(st.integers(1, 3))))
        group = draw(st.sampled_from(["({})", "(?:{})", "{}", "({}|{})"])).replace("{}", inner)
        parts.append(group + draw(_QUANTS))
    return "".join(parts) + draw(st.sampled_from(["", "x", "$", "!"]))


_POSTS = st.builds(
    lambda unit, n, tail: (unit * n)[:8_192] + tail,
    st.sampled_from(["a", "ab", "a ", "aab", "\u200f", "а"]),  # the last is Cyrillic
    st.integers(100, 8_192),
    st.sampled_from(["", "b", "!", "x" * 50]),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pattern=_patterns(), post=_POSTS)
def test_no_accepted_regex_runs_long_on_an_8kb_post(pattern: str, post: str) -> None:
    try:
        term = parse_term(f"/{pattern}/")
    except TermSyntaxError:
        return  # rejected at load time with a reason: fine
    assert term.regex is not None
    started = time.perf_counter()
    found = term.regex.spans(post)
    assert found is None or all(0 <= s < e <= len(post) for s, e in found)
    assert time.perf_counter() - started < REGEX_TIMEOUT + 1.0


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=60))
def test_any_pattern_text_is_accepted_or_rejected_with_a_reason(pattern: str) -> None:
    try:
        parse_term(f"/{pattern}/")
    except TermSyntaxError as e:
        reason = str(e)
        assert reason.strip(), "a rejection must say why"
