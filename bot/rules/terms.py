"""The term syntax of a rule: word, =exact, prefix*, ~family, "a phrase", /regex/; parsing and regex guards."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Literal

import regex  # the stdlib `re` has no time limit; `regex` stops a match after `timeout` seconds

from bot.rules.morph import family_forms, is_abbreviation, word_forms
from bot.rules.normalize import normalize_word

AtomMode = Literal["forms", "exact", "prefix", "family"]
TermKind = Literal["word", "exact", "prefix", "family", "phrase", "regex"]

MIN_PREFIX = 3
MIN_FAMILY = 6  # a ~family needs a word this long: short stems would gather unrelated words
MAX_REGEX_LENGTH = 500
MAX_UNBOUNDED = 4
# A rule regex gets this long on one post; past it the term counts as not found on that post, and the
# timeout is logged (and shown by `rules test`). The static check below rejects the common catastrophic
# shapes early with a helpful message; this budget is what bounds every pattern it lets through.
REGEX_TIMEOUT = 0.05

log = logging.getLogger(__name__)


class TermSyntaxError(ValueError):
    """A term cannot be parsed; the message says why and what would be valid."""


@dataclass(frozen=True, slots=True)
class Atom:
    """One word position of a term: all forms of a word, of its word family, one exact form, or a prefix."""

    mode: AtomMode
    word: str  # normalised
    forms: frozenset[str]  # what the automaton looks for (the prefix itself for mode "prefix")


@dataclass(frozen=True, slots=True)
class Term:
    """A parsed term; a phrase has several atoms, a regex none."""

    raw: str
    kind: TermKind
    atoms: tuple[Atom, ...] = ()
    regex: GuardedRegex | None = None


class GuardedRegex:
    """A compiled rule regex whose search of one text stops after REGEX_TIMEOUT seconds."""

    __slots__ = ("_compiled", "pattern")

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern
        self._compiled = regex.compile(pattern, regex.IGNORECASE | regex.VERSION0)

    def spans(self, text: str, timeout: float = REGEX_TIMEOUT) -> list[tuple[int, int]] | None:
        """Non-empty (start, end) matches in `text`; None (and a log line) when the time budget ran out."""
        try:
            return [m.span() for m in self._compiled.finditer(text, timeout=timeout) if m.end() > m.start()]
        except TimeoutError:
            log.warning(
                "regex /%s/ gave up after %d ms on a %d-character text; the term counts as not found there",
                self.pattern,
                round(timeout * 1000),
                len(text),
            )
            return None

    def __getstate__(self) -> str:
        return self.pattern

    def __setstate__(self, state: str) -> None:
        self.__init__(state)  # type: ignore[misc]  # re-compiling is how a pattern is unpickled

    def __eq__(self, other: object) -> bool:
        return isinstance(other, GuardedRegex) and other.pattern == self.pattern

    def __hash__(self) -> int:
        return hash(self.pattern)

    def __repr__(self) -> str:
        return f"GuardedRegex({self.pattern!r})"


def _atom(token: str) -> Atom:
    exact = token.startswith("=")
    prefix = token.endswith("*")
    family = token.startswith("~")
    body = token.lstrip("=~").rstrip("*")
    if exact + prefix + family > 1:
        raise TermSyntaxError("a term is only one of =exact, prefix* and ~family")
    if "*" in body or "=" in body or "~" in body:
        raise TermSyntaxError("'*' is allowed only at the end of a word, '=' and '~' only at its start")
    word = normalize_word(body)
    if not word:
        raise TermSyntaxError("the term has no letters or digits after normalisation")
    if " " in word:
        raise TermSyntaxError("a term word splits into several words; quote it as a phrase")
    if prefix:
        if len(word) < MIN_PREFIX:
            raise TermSyntaxError(f"a prefix needs at least {MIN_PREFIX} letters")
        return Atom("prefix", word, frozenset({word}))
    if family:
        if len(word) < MIN_FAMILY:
            raise TermSyntaxError(f"a ~family needs a word of at least {MIN_FAMILY} letters")
        return Atom("family", word, family_forms(word))
    if exact or is_abbreviation(body):
        return Atom("exact", word, frozenset({word}))
    return Atom("forms", word, word_forms(word))


def _split_words(body: str) -> list[str]:
    # Hyphens split words in the text too, so "Северо-Курильск" is a two-word phrase.
    return [w for w in re.split(r"[\s\-\u2010\u2011\u2013\u2014]+", body.strip()) if w]


def parse_term(raw: str) -> Term:
    """Parse one term of the rule syntax; raises TermSyntaxError on bad syntax."""
    text = raw.strip()
    if not text:
        raise TermSyntaxError("empty term")
    if len(text) >= 2 and text.startswith("/") and text.endswith("/"):
        return Term(raw, "regex", regex=compile_guarded(text[1:-1]))
    if text.startswith("/"):
        raise TermSyntaxError("a regex term must end with '/' as well")
    if text.startswith('"') or text.endswith('"'):
        if not (len(text) >= 2 and text.startswith('"') and text.endswith('"')):
            raise TermSyntaxError('unbalanced quotes; a phrase is written "two words"')
        words = _split_words(text[1:-1])
        if not words:
            raise TermSyntaxError("empty phrase")
        atoms = tuple(_atom(w) for w in words)
        return Term(raw, "phrase" if len(atoms) > 1 else _kind(atoms[0]), atoms)
    words = _split_words(text)
    if len(words) > 1:
        # an unquoted multi-word term is read as the phrase the user obviously meant
        return Term(raw, "phrase", tuple(_atom(w) for w in words))
    atom = _atom(text)
    return Term(raw, _kind(atom), (atom,))


def _kind(atom: Atom) -> TermKind:
    kinds = {"forms": "word", "exact": "exact", "prefix": "prefix", "family": "family"}
    return kinds[atom.mode]  # type: ignore[return-value]


def compile_guarded(pattern: str) -> GuardedRegex:
    """Compile an expert regex (rejecting shapes that backtrack catastrophically) to run under a time budget."""
    if not pattern:
        raise TermSyntaxError("empty regex")
    if len(pattern) > MAX_REGEX_LENGTH:
        raise TermSyntaxError(f"regex longer than {MAX_REGEX_LENGTH} characters")
    check_backtracking(pattern)
    try:
        return GuardedRegex(pattern)
    except regex.error as e:
        raise TermSyntaxError(f"invalid regex: {e}") from None


_HINT = "; use a possessive quantifier (x++) or an atomic group (?>...) instead"


def _quantifier_at(pattern: str, i: int) -> tuple[bool, int] | None:
    """If a quantifier starts at i: (unbounded, its length including a possessive/lazy suffix)."""
    if i >= len(pattern):
        return None
    ch = pattern[i]
    if ch in "*+?":
        n = 1
        unbounded = ch != "?"
    elif ch == "{":
        m = re.match(r"\{(\d*)(,?)(\d*)\}", pattern[i:])
        if not m:
            return None
        n = m.end()
        upper = m.group(3)
        unbounded = bool(m.group(2)) and (not upper or int(upper) > 50)
    else:
        return None
    if i + n < len(pattern) and pattern[i + n] in "+?":
        n += 1
    return unbounded, n


def _possessive(pattern: str, i: int, n: int) -> bool:
    # x*+ x++ x?+ x{2,}+ are possessive; a lone + is the quantifier itself
    return n > 1 and pattern[i + n - 1] == "+"


def check_backtracking(pattern: str) -> None:
    """Reject nested unbounded quantifiers, quantified alternations, backreferences and quantifier chains."""
    # Each open group: [has_unbounded_inside, has_alternation, atomic]
    stack: list[list[bool]] = [[False, False, False]]
    unbounded_total = 0
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        closed: list[bool] | None = None
        if ch == "\\":
            nxt = pattern[i + 1 : i + 2]
            if nxt.isdigit() and nxt != "0":
                raise TermSyntaxError("backreferences are not allowed in rule regexes")
            i += 2
        elif ch == "[":
            j = i + 1
            if j < len(pattern) and pattern[j] == "^":
                j += 1
            if j < len(pattern) and pattern[j] == "]":
                j += 1
            while j < len(pattern) and pattern[j] != "]":
                j += 2 if pattern[j] == "\\" else 1
            i = j + 1
        elif ch == "(":
            if pattern.startswith("(?P=", i):
                raise TermSyntaxError("backreferences are not allowed in rule regexes")
            stack.append([False, False, pattern.startswith("(?>", i)])
            i += 1
        elif ch == ")":
            if len(stack) == 1:
                raise TermSyntaxError("invalid regex: unbalanced parenthesis")
            closed = stack.pop()
            i += 1
        elif ch == "|":
            stack[-1][1] = True
            i += 1
        else:
            i += 1
        quant = _quantifier_at(pattern, i) if ch != "(" and ch != "|" else None
        if quant is None:
            if closed is not None and closed[0]:
                stack[-1][0] = True
            continue
        unbounded, n = quant
        possessive = _possessive(pattern, i, n)
        if closed is not None and unbounded and not possessive and not closed[2]:
            if closed[0]:
                raise TermSyntaxError(
                    "nested unbounded quantifiers such as (a+)+ backtrack catastrophically" + _HINT
                )
            if closed[1]:
                raise TermSyntaxError(
                    "a repeated alternation such as (a|ab)* can backtrack catastrophically" + _HINT
                )
        if unbounded and not possessive:
            unbounded_total += 1
            stack[-1][0] = True
        elif closed is not None and closed[0]:
            stack[-1][0] = True
        i += n
    if len(stack) != 1:
        raise TermSyntaxError("invalid regex: unbalanced parenthesis")
    if unbounded_total > MAX_UNBOUNDED:
        raise TermSyntaxError(f"more than {MAX_UNBOUNDED} unbounded quantifiers" + _HINT)
