"""Spike and surge detection over the stream of posts, online and offline (the same code replays corpora).

**Rule spikes.** A rule's matches in the last hour are compared with the same hour of the week in the
previous `baseline_weeks` weeks. With the baseline counts b₁…b_k, their median m and median absolute
deviation MAD, the spread is s = max(1.4826·MAD, √max(m, 1)) — the MAD scaled to a standard deviation,
floored by the Poisson spread of a count of m so that a rule whose baseline is always 0 or 1 does not alarm
on every second match. The hour is a spike when its count x ≥ `spike_min_count`, the matches come from
at least `spike_min_channels` channels, and the robust z-score (x − m) / s ≥ `spike_sensitivity`.

**Place and name surges.** Capitalised words that pymorphy3 tags as a place (Geox), a first name (Name) or
a surname (Surn) are lemmatised (Суджа, Судже, Суджи → суджа) and counted once per post. A name surges
when at least `surge_channels` channels mention it within `surge_minutes` and it was in at most
`surge_rare_max` posts in the week before. Ever-present names are never counted (STOP_NAMES plus
`stop_names`).

Counts are kept in 10-minute buckets for `baseline_weeks` weeks (rules) and 8 days (names); memory grows
with the number of distinct names, not posts.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict, deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from statistics import median
from typing import Any

from config.settings import TrendSettings

BUCKET = 600  # seconds per bucket
WEEK = 7 * 24 * 3600
NAME_TAGS = frozenset({"Geox", "Name", "Surn"})
# Names present in every news day: counting them would only measure the news volume.
STOP_NAMES = frozenset(
    [
        "россия",
        "украина",
        "рф",
        "сша",
        "москва",
        "киев",
        "киева",
        "путин",
        "зеленский",
        "европа",
        "китай",
        "израиль",
        "германия",
        "франция",
        "америка",
        "запад",
        "нато",
        "ес",
        "ссср",
        "крым",
        "донбасс",
        "владимир",
        "байден",
        "трамп",
        "англия",
        "британия",
        "лондон",
        "вашингтон",
        "пекин",
        "иран",
        "турция",
        "белоруссия",
        "беларусь",
        "минск",
        "санкт-петербург",
        "петербург",
        "telegram",
    ]
)
_WORD = re.compile(r"(?<![\w-])([A-ZА-ЯЁІЇЄҐ][a-zа-яёіїєґ'’-]{2,})")


@dataclass(frozen=True, slots=True)
class Trend:
    """A spike or a surge found at `at`."""

    kind: str  # spike | surge
    subject: str  # rule name or lemma
    at: datetime
    count: int  # matches in the hour (spike) / channels in the window (surge)
    channels: int
    usual: float  # baseline median (spike) / posts in the week before (surge)
    score: float  # robust z-score (spike) / channels (surge)

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.subject}"

    def title(self, surge_minutes: float) -> str:
        if self.kind == "spike":
            return (
                f"{self.subject}: {self.count} matches in 60 min across {self.channels} channels, "
                f"usual {self.usual:g}"
            )
        return (
            f"{self.subject.capitalize()}: {self.channels} channels in {surge_minutes:g} min, "
            f"{self.usual:g} posts last week"
        )


@lru_cache(maxsize=200_000)
def _name_lemma(word: str) -> str | None:
    from bot.rules.morph import analyzer  # the dictionaries load on first use

    lang = "uk" if any(c in word for c in "іїєґІЇЄҐ") else "ru"
    for parse in analyzer(lang).parse(word)[:3]:
        grammemes = set(str(parse.tag).replace(" ", ",").split(","))
        if grammemes & NAME_TAGS:
            return str(parse.normal_form)
    return None


def names_in(text: str, stop: frozenset[str] = STOP_NAMES) -> set[str]:
    """Lemmas of the place and personal names in `text` (Cyrillic capitalised words), stop names left out."""
    found: set[str] = set()
    for m in _WORD.finditer(text):
        lemma = _name_lemma(m.group(1))
        if lemma is not None and lemma not in stop:
            found.add(lemma)
    return found


def _bucket(at: datetime) -> int:
    return int(at.timestamp()) // BUCKET


def robust_z(count: int, baseline: Sequence[int]) -> tuple[float, float]:
    """(median of the baseline, robust z-score of `count` against it); see the module doc."""
    if not baseline:
        return 0.0, float(count)
    m = float(median(baseline))
    mad = float(median(abs(b - m) for b in baseline))
    spread = max(1.4826 * mad, math.sqrt(max(m, 1.0)))
    return m, (count - m) / spread


@dataclass(slots=True)
class _Recent:
    """Events of one subject in the current window: (time, channel)."""

    events: deque[tuple[datetime, int]] = field(default_factory=deque)

    def add(self, at: datetime, channel: int) -> None:
        self.events.append((at, channel))

    def trim(self, since: datetime) -> None:
        while self.events and self.events[0][0] < since:
            self.events.popleft()

    def channels(self) -> int:
        return len({c for _, c in self.events})


class TrendDetector:
    """Feed posts in time order with `add`; `evaluate(now)` lists the spikes and surges at that moment."""

    def __init__(self, settings: TrendSettings) -> None:
        self.settings = settings
        self.stop = STOP_NAMES | frozenset(n.lower() for n in settings.stop_names)
        self.rule_buckets: dict[str, dict[int, int]] = defaultdict(dict)
        self.rule_recent: dict[str, _Recent] = defaultdict(_Recent)
        self.name_buckets: dict[str, dict[int, int]] = defaultdict(dict)
        self.name_recent: dict[str, _Recent] = defaultdict(_Recent)
        self.latest: datetime | None = None

    def add(self, at: datetime, channel: int, text: str, rules: Iterable[str]) -> None:
        """One post: its time, channel row id, text and the rules it matched."""
        b = _bucket(at)
        for rule in set(rules):
            buckets = self.rule_buckets[rule]
            buckets[b] = buckets.get(b, 0) + 1
            self.rule_recent[rule].add(at, channel)
        for lemma in names_in(text, self.stop):
            buckets = self.name_buckets[lemma]
            buckets[b] = buckets.get(b, 0) + 1
            self.name_recent[lemma].add(at, channel)
        if self.latest is None or at > self.latest:
            self.latest = at

    def evaluate(self, now: datetime) -> list[Trend]:
        """The rules spiking and the names surging at `now`, strongest first."""
        s = self.settings
        found: list[Trend] = []
        hour_ago = now - timedelta(hours=1)
        end = _bucket(now) + 1
        for rule, recent in self.rule_recent.items():
            recent.trim(hour_ago)
            count = len(recent.events)
            if count < s.spike_min_count:
                continue
            buckets = self.rule_buckets[rule]
            per_week = WEEK // BUCKET
            baseline = [
                sum(buckets.get(end - k * per_week - i, 0) for i in range(1, 7))
                for k in range(1, s.baseline_weeks + 1)
            ]
            usual, z = robust_z(count, baseline)
            channels = recent.channels()
            if z >= s.spike_sensitivity and channels >= s.spike_min_channels:
                found.append(Trend("spike", rule, now, count, channels, usual, z))
        window_start = now - timedelta(minutes=s.surge_minutes)
        window_first = _bucket(window_start)  # the week before ends where the window's first bucket starts
        for lemma, recent in self.name_recent.items():
            recent.trim(window_start)
            channels = recent.channels()
            if channels < s.surge_channels:
                continue
            buckets = self.name_buckets[lemma]
            first = window_first - WEEK // BUCKET
            before = sum(n for b, n in buckets.items() if first <= b < window_first)
            if before <= s.surge_rare_max:
                found.append(Trend("surge", lemma, now, len(recent.events), channels, before, channels))
        found.sort(key=lambda t: (-t.score, t.subject))
        return found

    def prune(self, now: datetime) -> None:
        """Forget counts older than the baselines need (bounded memory in a long run)."""
        keep_rules = _bucket(now) - (self.settings.baseline_weeks * WEEK + 2 * 3600) // BUCKET
        keep_names = _bucket(now) - (8 * 24 * 3600) // BUCKET
        for table, keep in ((self.rule_buckets, keep_rules), (self.name_buckets, keep_names)):
            for subject in list(table):
                buckets = table[subject]
                for b in [b for b in buckets if b < keep]:
                    del buckets[b]
                if not buckets:
                    del table[subject]
        for recent_table in (self.rule_recent, self.name_recent):
            for subject in list(recent_table):
                if not recent_table[subject].events:
                    del recent_table[subject]


def epoch(at: Any) -> datetime:
    """A stored date as an aware UTC datetime."""
    value = at if isinstance(at, datetime) else datetime.fromisoformat(str(at))
    return value if value.tzinfo else value.replace(tzinfo=UTC)
