"""In-memory fakes of the core ports: a word matcher, recording sinks, a controllable clock."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from bot.domain.errors import DeliveryFailed, RateLimited
from bot.domain.models import Match, MatchedTerm, Severity
from bot.domain.ports import OutgoingAlert, SinkCapabilities


class WordMatcher:
    """Matches whole words case-insensitively: {rule: [words]}; enough to drive the pipeline in tests."""

    def __init__(self, rules: dict[str, Sequence[str]], severity: Severity = Severity.WARNING) -> None:
        self.rules = {name: [w.lower() for w in words] for name, words in rules.items()}
        self.severity = severity
        self.calls = 0

    def match(self, text: str, *, channel: str | None = None, tags: Sequence[str] = ()) -> list[Match]:
        self.calls += 1
        found: list[Match] = []
        for name, words in self.rules.items():
            hits = [
                MatchedTerm(term=w, text=m.group(0), start=m.start(), end=m.end())
                for w in words
                for m in re.finditer(rf"\b{re.escape(w)}\b", text, re.IGNORECASE)
            ]
            if hits:
                found.append(Match(rule=name, severity=self.severity, hits=tuple(hits)))
        return found


class RecordingSink:
    """Remembers every delivered alert; can be told to fail or rate-limit the next deliveries."""

    def __init__(self, name: str = "console", *, coalesces: bool = False, min_interval: float = 0.0) -> None:
        self.name = name
        self.capabilities = SinkCapabilities(coalesces=coalesces, min_interval=min_interval)
        self.delivered: list[OutgoingAlert] = []
        self.failures: list[Exception] = []

    async def deliver(self, alert: OutgoingAlert) -> None:
        if self.failures:
            raise self.failures.pop(0)
        self.delivered.append(alert)

    def fail_next(self, *errors: Exception) -> None:
        self.failures.extend(errors)

    def flood(self, seconds: float) -> None:
        self.failures.append(RateLimited(seconds, request="send"))

    def break_permanently(self) -> None:
        self.failures.append(DeliveryFailed("chat not found", permanent=True))

    @property
    def keys(self) -> list[str]:
        return [a.dedup_key for a in self.delivered]


class FakeClock:
    """A clock that moves only when told to (or when slept on)."""

    def __init__(self, start: datetime | None = None) -> None:
        self.current = start or datetime(2024, 8, 7, 6, 0, tzinfo=UTC)
        self.slept: list[float] = []

    def now(self) -> datetime:
        return self.current

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.advance(seconds)

    def advance(self, seconds: float) -> None:
        self.current += timedelta(seconds=seconds)
