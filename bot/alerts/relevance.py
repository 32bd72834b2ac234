"""Relevance scoring of matches: each rule's model (learnt from this desk's marks, else shipped with its
pack), training from the marks, forgetting, and the scheduled retraining.

Cold start: a rule is scored by a model learnt from its marks only once it has MIN_MARKS of each kind
(relevant and false positive); until then a pack rule uses its pack's shipped model and any other rule
is not scored. Models stay in the local database; nothing is sent anywhere.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bot.domain.errors import StorageError
from bot.domain.models import Alert
from bot.domain.ports import Clock, SystemClock
from bot.domain.records import MarkCounts, ScoredPrecision
from bot.domain.storage import RelevanceStore, Storage
from bot.relevance import Example, ModelFormatError, RelevanceModel, Score, train
from bot.relevance.shipped import PackModels, load_packs
from config.settings import Settings

log = logging.getLogger(__name__)
MIN_MARKS = 20  # of each kind before a rule's own model is trained


@dataclass(frozen=True, slots=True)
class ActiveModel:
    model: RelevanceModel
    origin: str  # "learnt" (from this desk's marks) | "shipped" (with pack NAME)
    stale: bool = False  # a shipped model built beside an older version of its pack


@dataclass(frozen=True, slots=True)
class LearnReport:
    """What `learn` did for one rule."""

    rule: str
    relevant: int
    false_positive: int
    trained: bool
    note: str
    seconds: float = 0.0
    features: int = 0

    def to_dict(self) -> dict[str, object]:
        return {
            "rule": self.rule,
            "relevant": self.relevant,
            "false_positive": self.false_positive,
            "trained": self.trained,
            "note": self.note,
            "seconds": round(self.seconds, 3),
            "features": self.features,
        }


@dataclass(frozen=True, slots=True)
class ModelStatus:
    """A rule's scoring state, for `rules learn --status`, /stats and the web page."""

    rule: str
    origin: str | None  # None: not scored
    relevant: int  # marks now
    false_positive: int
    trained_on: tuple[int, int] | None  # (relevant, false positive) examples of the active model
    trained_at: str
    stale: bool


class RelevanceService:
    """Scores matches with each rule's active model; learns and forgets models from review marks."""

    def __init__(
        self,
        store: Storage | None,
        packs: Iterable[str] = (),
        *,
        clock: Clock | None = None,
        shipped: dict[str, PackModels] | None = None,
    ) -> None:
        self.store = store
        self.clock = clock or SystemClock()
        self.shipped: dict[str, ActiveModel] = {}
        for name, pack in (shipped if shipped is not None else _load_shipped(packs)).items():
            stale = not pack.current
            for rule, model in pack.models.items():
                self.shipped[rule] = ActiveModel(model, f"shipped with pack {name}", stale)
        self.learnt: dict[str, ActiveModel] = {}
        self._lock = asyncio.Lock()

    @property
    def repo(self) -> RelevanceStore:
        if self.store is None:
            raise StorageError("relevance models need the database, and none is open")
        return self.store.relevance

    async def load(self) -> RelevanceService:
        """Read the learnt models from the database (a broken one is logged and skipped)."""
        if self.store is None:
            return self
        for stored in await self.repo.models():
            try:
                model = RelevanceModel.loads(stored.model)
            except ModelFormatError as e:
                log.error("relevance model of rule %r is unreadable, not used: %s", stored.rule, e)
                continue
            self.learnt[stored.rule] = ActiveModel(model, "learnt")
        return self

    def active(self, rule: str) -> ActiveModel | None:
        return self.learnt.get(rule) or self.shipped.get(rule)

    def score(self, rule: str, text: str) -> Score | None:
        """The rule's score of a text with its strongest words for and against; None when not scored."""
        active = self.active(rule)
        return active.model.score(text) if active is not None else None

    def score_value(self, rule: str, text: str) -> float | None:
        active = self.active(rule)
        return active.model.score(text, top=0).value if active is not None else None

    async def learn(
        self,
        rules: Sequence[str] | None = None,
        *,
        progress: Callable[[str], None] | None = None,
    ) -> list[LearnReport]:
        """Train the model of each rule (every rule with marks when None) that has enough marks."""
        async with self._lock:
            counts = await self.repo.mark_counts()
            chosen = list(rules) if rules is not None else sorted(counts)
            reports = []
            for rule in chosen:
                if progress is not None:
                    progress(rule)
                reports.append(await self._learn_one(rule, counts.get(rule, MarkCounts(rule, 0, 0))))
            return reports

    async def _learn_one(self, rule: str, counts: MarkCounts) -> LearnReport:
        if counts.relevant < MIN_MARKS or counts.false_positive < MIN_MARKS:
            fallback = "its shipped model scores it" if rule in self.shipped else "not scored"
            return LearnReport(
                rule,
                counts.relevant,
                counts.false_positive,
                False,
                f"needs {MIN_MARKS} marks of each kind to learn; {fallback}",
            )
        marks = await self.repo.marks(rule)
        examples = [Example(m.text, m.relevant) for m in marks if m.text.strip()]
        usable = sum(e.relevant for e in examples)
        if min(usable, len(examples) - usable) < MIN_MARKS:  # marks on posts whose text is gone (media)
            return LearnReport(
                rule,
                counts.relevant,
                counts.false_positive,
                False,
                f"needs {MIN_MARKS} marks of each kind on posts with text; has {usable} and {len(examples) - usable}",
            )
        now = self.clock.now()
        started = asyncio.get_running_loop().time()
        model = await asyncio.to_thread(train, rule, examples, source="marks", trained_at=_iso(now))
        seconds = asyncio.get_running_loop().time() - started
        await self.repo.save_model(
            rule, model.dumps(), model.relevant, model.false_positive, counts.total, now
        )
        self.learnt[rule] = ActiveModel(model, "learnt")
        return LearnReport(
            rule,
            counts.relevant,
            counts.false_positive,
            True,
            f"trained on {model.relevant} relevant and {model.false_positive} false-positive marks",
            seconds,
            len(model.weights),
        )

    async def forget(self, rules: Sequence[str] | None = None) -> int:
        """Delete learnt models (the marks stay); a pack rule falls back to its shipped model."""
        async with self._lock:
            removed = await self.repo.forget(rules)
            for rule in list(self.learnt) if rules is None else rules:
                self.learnt.pop(rule, None)
            return removed

    async def due(self, new_marks: int) -> list[str]:
        """Rules with enough marks whose model is missing or older than `new_marks` new marks."""
        counts = await self.repo.mark_counts()
        seen = {m.rule: m.marks_seen for m in await self.repo.models()}
        return [
            rule
            for rule, c in counts.items()
            if c.relevant >= MIN_MARKS
            and c.false_positive >= MIN_MARKS
            and (rule not in seen or c.total - seen[rule] >= new_marks)
        ]

    async def status(self, rules: Iterable[str] = ()) -> list[ModelStatus]:
        """Every rule given, with marks or with a model: how it is scored now."""
        counts = await self.repo.mark_counts()
        stored = {m.rule: m for m in await self.repo.models()}
        names = sorted({*rules, *counts, *self.learnt, *stored})
        out = []
        for rule in names:
            c = counts.get(rule, MarkCounts(rule, 0, 0))
            active = self.active(rule)
            trained_at = _iso(stored[rule].trained_at) if rule in stored else ""
            out.append(
                ModelStatus(
                    rule,
                    active.origin if active else None,
                    c.relevant,
                    c.false_positive,
                    (active.model.relevant, active.model.false_positive) if active else None,
                    trained_at or (active.model.trained_at if active else ""),
                    bool(active and active.stale),
                )
            )
        return out

    async def precision(self) -> dict[str, ScoredPrecision]:
        """Per rule: precision of every reviewed alert (rules alone) and of those sent at once."""
        return await self.repo.precision()


def _load_shipped(packs: Iterable[str]) -> dict[str, PackModels]:
    """Each pack's shipped models; a broken file is logged and left out (its rules are not scored)."""
    out: dict[str, PackModels] = {}
    for pack in packs:
        try:
            out.update(load_packs([pack]))
        except (ModelFormatError, OSError) as e:
            log.error("shipped relevance models of pack %s not used: %s", pack, e)
    return out


async def retrain_job(service: RelevanceService, new_marks: int) -> list[LearnReport]:
    """Scheduled: retrain the rules that gathered `new_marks` marks since their model was trained."""
    due = await service.due(new_marks)
    if not due:
        return []
    reports = await service.learn(due)
    for r in reports:
        if r.trained:
            log.info("relevance model of %s retrained: %s", r.rule, r.note)
    return reports


def alert_score_line(alert: Alert) -> str:
    """ "relevance 0.83" (and "· probably not relevant" when demoted), or "" when not scored."""
    if alert.score is None:
        return ""
    return f"relevance {alert.score:.2f}" + (" · probably not relevant" if alert.demoted else "")


def register_relevance_job(
    scheduler: Any, service: RelevanceService, settings: Callable[[], Settings]
) -> None:
    """Add the retraining job to an APScheduler 3 scheduler (stable id: re-adding replaces it)."""
    schedule = settings().schedule
    scheduler.add_job(
        retrain_job,
        "interval",
        minutes=schedule.learn_minutes,
        id="relevance-retrain",
        args=[service, schedule.learn_after_marks],
        replace_existing=True,
        coalesce=True,
        max_instances=1,
    )


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
