"""Spike and surge alerts measured on the shipped corpora replayed in time order with their timestamps.

The detector is evaluated every 10 minutes of corpus time, with the alerting rule `run` uses (a rule or
name alerts once, again only after the cooldown). Reported: alerts per day over the days the corpus is
dense enough to judge (at least 100 posts), the share of days with an alert, the first Kursk-related alert
(Курск, Суджа, Курская область) against the first day those names appear in 3+ channels, and the cost.
No labels exist for the corpus: every alert not about an event a reader can name counts against it, so
the list of alerts is printed for review.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

from bench import corpus
from bench.report import Report
from bot.alerts.trends import Trend, TrendDetector, names_in
from bot.domain.models import RuleSpec
from config.loader import load_rule_pack, pack_path
from config.settings import TrendSettings

SECTION = "trends"
STEP = timedelta(minutes=10)
KURSK = {"курск", "суджа", "курская"}
PACKS = ("evacuation", "shelling", "incursion")


def _posts() -> list[tuple[datetime, int, str]]:
    posts = []
    for path in sorted(corpus.NKTKLN.glob("*_messages.json")):
        for m in json.loads(path.read_text(encoding="utf-8")):
            text = m.get("text") or ""
            if text:
                at = datetime.fromisoformat(m["date"]).astimezone(UTC)
                posts.append((at, int(m["sender_id"]), text))
    posts.sort(key=lambda p: p[0])
    return posts


def replay(settings: TrendSettings) -> tuple[list[Trend], int, float, Counter[str]]:
    """(alerts, posts, seconds, posts per day) of a replay with alerting as in `run`."""
    from bot.rules import compile_rules

    specs: list[RuleSpec] = []
    for name in PACKS:
        specs.extend(load_rule_pack(pack_path(name)))
    matcher = compile_rules(specs)
    posts = _posts()
    detector = TrendDetector(settings)
    cooldown = timedelta(hours=settings.cooldown_hours)
    last_alert: dict[str, datetime] = {}
    alerts: list[Trend] = []
    per_day: Counter[str] = Counter()
    started = time.perf_counter()
    clock = posts[0][0]
    for at, channel, text in posts:
        while clock + STEP <= at:
            clock += STEP
            for trend in detector.evaluate(clock):
                if clock - last_alert.get(trend.key, datetime.min.replace(tzinfo=UTC)) >= cooldown:
                    alerts.append(trend)
                last_alert[trend.key] = clock
            if clock.minute == 0 and clock.hour == 0:
                detector.prune(clock)
        detector.add(at, channel, text, [m.rule for m in matcher.match(text)])
        per_day[at.date().isoformat()] += 1
    return alerts, len(posts), time.perf_counter() - started, per_day


def run(report: Report) -> None:
    if not corpus.available():
        report.add(SECTION, "skipped", "shared corpus not found")
        return
    settings = TrendSettings()
    alerts, posts, seconds, per_day = replay(settings)
    dense = {d for d, n in per_day.items() if n >= 100}
    judged = [a for a in alerts if a.at.date().isoformat() in dense]
    days_with = {a.at.date().isoformat() for a in judged}
    report.add(SECTION, "posts replayed (nktkln, 24 channels)", f"{posts:,}")
    report.add(
        SECTION, "replay speed (match + names + evaluate every 10 min)", f"{posts / seconds:,.0f} posts/s"
    )
    report.add(
        SECTION,
        f"alerts per day over {len(dense)} dense days (>= 100 posts)",
        f"{len(judged) / max(len(dense), 1):.2f}",
        "target: <= 1 a day",
        ok=len(judged) / max(len(dense), 1) <= 1.0,
    )
    report.add(SECTION, "days with any alert", f"{len(days_with)} of {len(dense)}")
    kinds = Counter(a.kind for a in alerts)
    report.add(SECTION, "alerts in all (spike / surge)", f"{kinds['spike']} / {kinds['surge']}")
    first_kursk = next((a for a in alerts if a.subject in KURSK or "kursk" in a.subject), None)
    seen: dict[str, set[int]] = {}
    first_wide: datetime | None = None
    for at, channel, text in _posts():
        if names_in(text) & KURSK:
            day = at.date().isoformat()
            seen.setdefault(day, set()).add(channel)
            if len(seen[day]) >= 3 and first_wide is None:
                first_wide = at
    report.add(
        SECTION,
        "first Kursk alert (a Kursk rule's spike or a Kursk name's surge)",
        f"{first_kursk.at:%Y-%m-%d %H:%M} ({first_kursk.title(settings.surge_minutes)})"
        if first_kursk
        else "none",
        f"first day with 3+ channels naming it: {first_wide:%Y-%m-%d %H:%M}" if first_wide else "",
    )
    for a in alerts[:40]:
        report.console.print(f"  {a.at:%Y-%m-%d %H:%M} {a.kind:5} {a.title(settings.surge_minutes)}")
