"""The rules page: terms, matches per day, precision from review marks, a test box; and a new rule made
from a search, tested against recent posts before it is saved through the config editor."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from bot.domain.errors import TelewatchError
from bot.domain.models import RuleSpec, Severity
from bot.domain.records import SearchFilter
from bot.rules.report_text import shown_reports, term_words
from bot.web.pages import one, render, state
from bot.web.security import Forbidden, checked_form
from bot.web.svg import sparkline
from bot.web.text import short
from config.edit import rule_to_toml

DAYS = 14
TRIAL_POSTS = 2000
MAX_NAME = 80  # a rule's name is shown in alerts, links and chat buttons
MAX_TERMS = 500
QUERY_TOKENS = re.compile(
    r'"[^"]*"?|[()]|[^\s()"]+'
)  # a new rule is tried on this many of the newest posts before it is saved


async def rules_page(request: Request) -> Response:
    """Every rule in force, with its terms, matches per day, precision from marks, and a test box."""
    web = state(request)
    store = web.store
    specs = web.settings().rules
    end = (await store.archive.newest_post_date()) or web.now()
    start = (end - timedelta(days=DAYS - 1)).replace(hour=0, minute=0, second=0, microsecond=0)
    days = [(start + timedelta(days=i)).strftime("%Y-%m-%d") for i in range(DAYS)]
    per_day: dict[str, dict[str, int]] = {}
    for b in await store.archive.matches_per_day(start):
        per_day.setdefault(b.series, {})[b.bucket] = b.count
    precision = {p.rule: p for p in await store.alerts.precision_by_rule()}
    muted = {m.value for m in await _mutes(request) if m.kind == "rule"}
    names = [s.name for s in specs]
    stored_only = sorted((set(per_day) | set(precision)) - set(names))
    rows: list[dict[str, Any]] = []
    for spec in [*specs, *(RuleSpec(name=n, any_=()) for n in stored_only)]:
        counts = [per_day.get(spec.name, {}).get(d, 0) for d in days]
        rows.append(
            {
                "spec": spec,
                "configured": spec.name in names,
                "terms": rule_to_toml(spec),
                "counts": counts,
                "spark": sparkline(counts, title=f"{spec.name}: matches per day, {days[0]} to {days[-1]}"),
                "total": await store.matches.count(spec.name),
                "precision": precision.get(spec.name),
                "muted": spec.name in muted,
            }
        )
    return render(
        request, "rules.html", {"rows": rows, "days": days, "editable": web.config.path is not None}
    )


async def _mutes(request: Request) -> list[Any]:
    from bot.alerts.mutes import Mutes

    web = state(request)
    return await Mutes(web.store.control).active(web.now())


async def test_text(request: Request) -> Response:
    """The `rules test` explanation of a pasted text, for the test box (reads only: allowed read-only)."""
    web = state(request)
    form = await checked_form(request, write=False)
    text = str(form.get("text", ""))[:20_000]
    reports: list[Any] = []
    error = None
    specs = web.settings().rules
    if text.strip() and specs:
        try:
            reports = web.rules(specs).explain(
                text,
                channel=str(form.get("channel", "")).lstrip("@").lower() or None,
                tags=[t for t in [str(form.get("label", "")).strip()] if t],
            )
        except TelewatchError as e:
            error = e.message
    shown = shown_reports(reports)
    return render(
        request,
        "_rule_test.html",
        {
            "text": text,
            "shown": shown,
            "term_words": term_words,
            "matched": sum(r.matched for r in reports),
            "total": len(reports),
            "hidden": len(reports) - len(shown),
            "error": error or (None if specs else "no rules are configured, so nothing can match"),
        },
    )


def terms_from_query(query: str) -> dict[str, list[str]]:
    """A search query as rule terms: OR-ed words become `any`, other words `all`, NOT words `none`."""
    tokens = QUERY_TOKENS.findall(query)
    any_: list[str] = []
    all_: list[str] = []
    none_: list[str] = []
    ored = "OR" in tokens
    negate = False
    for token in tokens:
        if token in ("AND", "(", ")", "NEAR"):
            continue
        if token == "OR":
            continue
        if token == "NOT":
            negate = True
            continue
        term = token
        if negate:
            none_.append(term)
            negate = False
        elif ored:
            any_.append(term)
        else:
            all_.append(term)
    return {"any": any_, "all": all_, "none": none_}


def _lines(value: str) -> list[str]:
    """One term a line (or comma), each once."""
    return list(dict.fromkeys(line.strip() for line in value.replace(",", "\n").splitlines() if line.strip()))


def rule_values(form: FormData) -> dict[str, Any]:
    """The new-rule form as the TOML table ConfigEditor.add_rule takes."""
    values: dict[str, Any] = {"name": str(form.get("name", "")).strip()}
    for key in ("any", "all", "none"):
        terms = _lines(str(form.get(key, "")))
        if terms:
            values[key] = terms
    severity = str(form.get("severity", "warning"))
    if severity != "warning":
        values["severity"] = severity
    labels = _lines(str(form.get("labels", "")))
    if labels:
        values["labels"] = labels
    description = str(form.get("description", "")).strip()
    if description:
        values["description"] = description
    return values


def _spec(values: dict[str, Any]) -> RuleSpec:
    try:
        severity = Severity.parse(values.get("severity", "warning"))
    except ValueError as e:
        raise _FormProblem(str(e)) from None
    if not values["name"]:
        raise _FormProblem("give the rule a name")
    if len(values["name"]) > MAX_NAME:
        raise _FormProblem(f"a rule name of at most {MAX_NAME} characters, please")
    terms = sum(len(values.get(k, ())) for k in ("any", "all", "none"))
    if terms > MAX_TERMS:
        raise _FormProblem(f"{terms:,} terms is more than a rule made here may hold ({MAX_TERMS})")
    if not (values.get("any") or values.get("all")):
        raise _FormProblem("give at least one term to find (any or all)")
    return RuleSpec(
        name=values["name"],
        any_=tuple(values.get("any", ())),
        all_=tuple(values.get("all", ())),
        none_=tuple(values.get("none", ())),
        severity=severity,
        labels=tuple(values.get("labels", ())),
    )


class _FormProblem(Exception):
    pass


async def new_rule(request: Request) -> Response:
    """A new rule form, prefilled from a search (?q=...)."""
    q = one(request, "q")
    terms = terms_from_query(q) if q else {"any": [], "all": [], "none": []}
    name = "-".join(w.strip('"*').lower() for w in (terms["any"] or terms["all"])[:2] if w.strip('"*'))
    values = {"name": name[:40], "severity": "warning", **{k: "\n".join(v) for k, v in terms.items()}}
    return render(request, "rule_new.html", {"values": values, "q": q, "trial": None, "problem": None})


async def new_rule_post(request: Request) -> Response:
    """Test the new rule on recent posts, or save it to the config file (validated before writing)."""
    web = state(request)
    form = await checked_form(request, write=False)
    if str(form.get("action")) == "save" and web.read_only:
        raise Forbidden("this telewatch web runs read-only (--read-only): rules cannot be saved")
    values = rule_values(form)
    shown = {
        k: (", " if k == "labels" else "\n").join(v) if isinstance(v, list) else v for k, v in values.items()
    }
    shown.setdefault("severity", "warning")
    context: dict[str, Any] = {"values": shown, "q": str(form.get("q", "")), "trial": None, "problem": None}
    try:
        spec = _spec(values)
        if str(form.get("action")) == "save":
            editor = web.config.editor()
            if editor is None:
                raise _FormProblem(
                    "telewatch web was started without a config file (--config), so rules cannot be saved"
                )
            editor.add_rule(values)
            return RedirectResponse(f"/rules#rule-{spec.name}", status_code=303)
        context["trial"] = await _trial(request, spec)
    except _FormProblem as e:
        context["problem"] = str(e)
    except TelewatchError as e:
        context["problem"] = e.message + (f" ({e.hint})" if e.hint else "")
    return render(request, "rule_new.html", context, status=200 if context["problem"] is None else 400)


async def _trial(request: Request, spec: RuleSpec) -> dict[str, Any]:
    from bot.rules import compile_rules

    web = state(request)
    matcher = compile_rules([spec])
    recent = await web.store.posts.recent(SearchFilter(), limit=TRIAL_POSTS)
    hits = []
    for stored in recent:
        tags = [t for t in (stored.channel.label, *stored.channel.tags) if t]
        found = matcher.match(
            stored.post.text,
            channel=(stored.channel.username or str(stored.channel.tg_id)).lower(),
            tags=tags,
        )
        if found:
            hits.append((stored, found[0]))
    return {"tried": len(recent), "hits": hits[:30], "count": len(hits), "short": short}
