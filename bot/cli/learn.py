"""`telewatch rules learn`: train relevance models from review marks, show them, forget them."""

from __future__ import annotations

from collections.abc import Sequence

import click
from rich.markup import escape
from rich.table import Table

from bot.app.backend import open_store
from bot.cli.output import print_json
from bot.cli.root import CliContext, pass_ctx, run_async
from bot.cli.rules import rules
from bot.domain.errors import NotFound, TelewatchError
from bot.relevance import Score


def _packs(ctx: CliContext, extra: Sequence[str] = ()) -> list[str]:
    return list(dict.fromkeys([*ctx.settings.rule_packs, *extra]))


@rules.command("learn")
@click.argument("rule", required=False)
@click.option(
    "--reset", is_flag=True, help="Forget the learnt model (of RULE, or of every rule); marks stay."
)
@click.option("--status", "status_only", is_flag=True, help="Only show how each rule is scored now.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@pass_ctx
@run_async
async def learn_cmd(ctx: CliContext, rule: str | None, reset: bool, status_only: bool, as_json: bool) -> None:
    """Train each rule's relevance model from its review marks (or only RULE's).

    A rule needs 20 relevant and 20 false-positive marks before its own model is trained; until
    then a rule of a shipped pack is scored by the pack's model and any other rule is not scored.
    Models stay in the local database. `run` retrains by itself once enough new marks arrive.

    \b
    Examples:
      telewatch rules learn               every rule with marks
      telewatch rules learn evacuation
      telewatch rules learn --status
      telewatch rules learn evacuation --reset
    """
    from bot.alerts.relevance import RelevanceService

    async with await open_store(ctx.database) as store:
        service = await RelevanceService(store, _packs(ctx)).load()
        if rule is not None:
            known = {s.name for s in ctx.settings.rules} | set(service.shipped)
            known |= set((await store.relevance.mark_counts()).keys())
            if rule not in known:
                raise NotFound(
                    f"no rule named {rule!r} has rules, marks or a model",
                    hint="telewatch rules learn --status",
                )
        chosen = [rule] if rule is not None else None
        if reset:
            removed = await service.forget(chosen)
            what = f"rule {rule}" if rule else "every rule"
            if as_json:
                print_json({"forgotten": removed})
            else:
                ctx.console.print(
                    f"forgot {removed} learnt model(s) of {escape(what)}; review marks are kept"
                )
            return
        reports = []
        if not status_only:
            with ctx.console.status("training…") as spinner:
                reports = await service.learn(chosen, progress=lambda r: spinner.update(f"training {r}…"))
        statuses = await service.status([s.name for s in ctx.settings.rules] if rule is None else [rule])
        if rule is not None:
            statuses = [s for s in statuses if s.rule == rule]
    if as_json:
        print_json(
            {
                "trained": [r.to_dict() for r in reports],
                "rules": [
                    {
                        "rule": s.rule,
                        "scored_by": s.origin,
                        "relevant_marks": s.relevant,
                        "false_positive_marks": s.false_positive,
                        "trained_on": list(s.trained_on) if s.trained_on else None,
                        "trained_at": s.trained_at,
                        "stale": s.stale,
                    }
                    for s in statuses
                ],
            }
        )
        return
    for r in reports:
        style = "green" if r.trained else "yellow"
        took = f" in {r.seconds:.1f} s" if r.trained else ""
        ctx.console.print(f"[{style}]{escape(r.rule)}[/{style}]: {escape(r.note)}{took}")
    table = Table(title="relevance scoring by rule")
    for column in ("rule", "marks ✓/✗", "scored by", "trained on ✓/✗", "trained"):
        table.add_column(column)
    for s in statuses:
        origin = s.origin or "[dim]not scored (needs 20 marks of each kind)[/dim]"
        if s.stale:
            origin += " [yellow](pack changed: make models)[/yellow]"
        table.add_row(
            escape(s.rule),
            f"{s.relevant}/{s.false_positive}",
            origin,
            f"{s.trained_on[0]}/{s.trained_on[1]}" if s.trained_on else "",
            s.trained_at[:16].replace("T", " "),
        )
    ctx.console.print(table)


async def relevance_scores(
    ctx: CliContext, packs: Sequence[str], text: str, rule_names: Sequence[str]
) -> dict[str, Score]:
    """Scores of the matched rules of a text by their models (learnt ones when a database exists)."""
    from bot.alerts.relevance import RelevanceService

    if not rule_names:
        return {}
    service = RelevanceService(None, _packs(ctx, packs))  # no database (yet): shipped models only
    if ctx.db_path.exists():
        try:
            async with await open_store(ctx.database, read_only=True) as store:
                service = await RelevanceService(store, _packs(ctx, packs)).load()
        except TelewatchError as e:  # the test itself needs no database: say why learnt models are left out
            ctx.warn(f"learnt relevance models not used: {e.message}")
    out = {}
    for rule in rule_names:
        score = service.score(rule, text)
        if score is not None:
            out[rule] = score
    return out
