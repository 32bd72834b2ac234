"""`telewatch rules`: test rules on a text, check them, re-scan the archive with a new or changed rule."""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from bot.app.backend import open_store
from bot.cli.output import When, print_json
from bot.cli.params import BoundedInt, row_id
from bot.cli.root import CliContext, cli, pass_ctx, run_async
from bot.domain.errors import NotFound, SourceError
from bot.domain.models import RuleSpec, StoredPost
from bot.domain.ports import channel_key
from bot.rules.report_text import shown_reports, term_words

if TYPE_CHECKING:
    from bot.app.runtime import Runtime

SEVERITY_STYLE = {"info": "blue", "warning": "yellow", "critical": "bold red"}


@cli.group()
def rules() -> None:
    """Keyword rules: try them on a text, check them, re-scan stored posts with them.

    \b
    Term syntax (in [[rules]] any / all / none):
      эвакуация        every word form (эвакуации, эвакуацию...), ru / uk / en
      ~эвакуация       its word family too (эвакуировать, эвакуационный...; not эвакуатор)
      =Курск           only this exact form (not Курске, not Курская)
      обстрел*         any word starting with this
      "режим КТО"      a phrase: words adjacent and in order, each in any form
      /\\bКТО\\b/        a regular expression (case-insensitive, on normalised text)
    Scoped conditions: near = [[a, b, 5 or "sentence"]]; unless_near / only_near =
    [[term or "*", [terms], 3 or "sentence"]] cancel a hit near those terms / keep it only near them.
    """


def _specs(ctx: CliContext, packs: Sequence[str]) -> list[RuleSpec]:
    """Rules of the config, plus shipped packs named on the command line (config rules win)."""
    specs = list(ctx.settings.rules)
    if packs:
        from bot.rules.packs import available_packs, pack_path
        from config.loader import load_rule_pack

        names = {s.name for s in specs}
        for pack in packs:
            if pack not in available_packs():
                raise NotFound(f"no rule pack {pack!r}", hint="packs: " + ", ".join(available_packs()))
            for spec in load_rule_pack(pack_path(pack)):
                if spec.name in names:
                    ctx.warn(
                        f"--pack {pack}: rule {spec.name!r} is not used: the configuration "
                        f"({ctx.config_path}) has a rule of that name, which wins"
                    )
                else:
                    specs.append(spec)
    return specs


def _compile(specs: Sequence[RuleSpec]) -> Any:
    from bot.rules import compile_rules  # imported late: dictionaries load only for rule commands

    if not specs:
        raise NotFound(
            "no rules configured",
            hint="add [[rules]] or rule_packs to the config, or pass --pack evacuation (see `rules packs`)",
        )
    return compile_rules(specs)


pack_option = click.option(
    "--pack", "packs", multiple=True, metavar="NAME", help="Also use this shipped rule pack (repeatable)."
)


@rules.command("test")
@click.argument("text", required=False)
@click.option(
    "--file",
    "-f",
    "file",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    help="Test the whole content of this file as one text.",
)
@click.option(
    "--post",
    "post_id",
    type=row_id(),
    help="Test the stored post with this id (see `posts recent`).",
)
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="JSON output; with no TEXT/--file/--post, read one text per line from stdin.",
)
@click.option("--channel", "-c", help="Channel handle, for rules scoped to channels.")
@click.option("--label", "-l", "labels", multiple=True, help="Channel label/tag, for label-scoped rules.")
@click.option("--rule", "-r", "only", multiple=True, help="Only this rule (repeatable).")
@click.option("--all", "show_all", is_flag=True, help="Also list rules none of whose terms occur.")
@pack_option
@pass_ctx
@run_async
async def test_cmd(
    ctx: CliContext,
    text: str | None,
    file: Path | None,
    post_id: int | None,
    as_json: bool,
    channel: str | None,
    labels: tuple[str, ...],
    only: tuple[str, ...],
    show_all: bool,
    packs: tuple[str, ...],
) -> None:
    """Show which rules match a text, which words matched which terms, and why other rules did not.

    \b
    Examples:
      telewatch rules test "Жители эвакуированы из Суджи"
      telewatch rules test --pack evacuation --file post.txt
      telewatch rules test --post 1234
      cat texts.txt | telewatch rules test --json
    """
    matcher = _compile(_specs(ctx, packs))
    names = list(only) or None
    if names:
        unknown = sorted(set(names) - set(matcher.names))
        if unknown:
            raise NotFound(f"no rule named {unknown[0]!r}", hint="rules: " + ", ".join(matcher.names))
    tags = list(labels)
    if post_id is not None:
        stored = await _load_post(ctx, post_id)
        text = stored.post.text
        channel = channel or channel_key(stored.channel.ref)
        tags += [*stored.channel.tags, *([stored.channel.label] if stored.channel.label else [])]
    elif file is not None:
        text = file.read_text(encoding="utf-8")  # noqa: ASYNC240 -- one small file before any async work
    if text is None:
        if not as_json:
            raise click.UsageError("give a TEXT, --file or --post (or --json to read lines from stdin)")
        for line in sys.stdin:
            line = line.rstrip("\n")
            reports = matcher.explain(line, channel=channel, tags=tags, rules=names)
            scores = await relevance_scores(ctx, packs, line, [r.rule for r in reports if r.matched])
            click.echo(json.dumps(_json(line, reports, scores), ensure_ascii=False))
        return
    reports = matcher.explain(text, channel=channel, tags=tags, rules=names)
    scores = await relevance_scores(ctx, packs, text, [r.rule for r in reports if r.matched])
    if as_json:
        print_json(_json(text, reports, scores))
        return
    _print_reports(ctx, text, reports, show_all or bool(names))
    for rule, score in scores.items():
        ctx.console.print(f"[bold]{escape(rule)}[/bold]: {escape(score.describe())}")


async def relevance_scores(
    ctx: CliContext, packs: Sequence[str], text: str, rule_names: Sequence[str]
) -> dict[str, Any]:
    """The relevance score of each matched rule that has a model (bot.cli.learn)."""
    from bot.cli.learn import relevance_scores as scores

    return await scores(ctx, packs, text, rule_names)


async def _load_post(ctx: CliContext, post_id: int) -> StoredPost:

    async with await open_store(ctx.database, read_only=True) as store:
        stored = await store.posts.get(post_id)
    if stored is None:
        raise NotFound(f"no stored post with id {post_id}", hint="telewatch posts recent lists post ids")
    return stored


def _json(text: str, reports: Sequence[Any], scores: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "text": text,
        "matched": [r.rule for r in reports if r.matched],
        "rules": [r.to_dict() for r in reports],
        "relevance": {rule: s.to_dict() for rule, s in scores.items()},
    }


def _print_reports(ctx: CliContext, text: str, reports: Sequence[Any], show_all: bool) -> None:
    highlighted = Text(text)
    for r in reports:
        for h in r.hits:
            highlighted.stylize("bold reverse", h.start, h.end)
    ctx.console.print(highlighted)
    ctx.console.print()
    table = Table(show_lines=True, expand=True)
    table.add_column("rule", no_wrap=True)
    table.add_column("severity", no_wrap=True)
    table.add_column("result", no_wrap=True)
    table.add_column("words → terms / why not", ratio=1)
    shown = shown_reports(reports, show_all)
    for r in shown:
        words = "\n".join(f"{role}: {escape(found)} → {escape(term)}" for role, found, term in term_words(r))
        why = "\n".join(
            [f"[magenta]cancelled: {escape(x)}[/magenta]" for x in r.cancelled]
            + [f"[dim]{escape(x)}[/dim]" for x in r.reasons]
        )
        style = SEVERITY_STYLE[r.severity.label]
        table.add_row(
            escape(r.rule),
            f"[{style}]{r.severity.label}[/{style}]",
            "[green]✓ match[/green]" if r.matched else "[red]✗ no[/red]",
            "\n".join(x for x in (words, why) if x) or "[dim]no term found[/dim]",
        )
    matched = sum(r.matched for r in reports)
    if shown:
        ctx.console.print(table)
    hidden = len(reports) - len(shown)
    tail = f"; {hidden} other rules found none of their terms (--all lists them)" if hidden else ""
    ctx.console.print(f"{matched} of {len(reports)} rules match{tail}")


@rules.command("eval")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@click.option("--split", type=click.Choice(["dev", "test"]), help="Only records of this split (JSONL).")
@click.option("--lang", help='Only records in this language (JSONL "lang", e.g. ru, uk, en).')
@click.option("--rule", "-r", "only", multiple=True, help="Only this rule's labels (repeatable).")
@click.option(
    "--errors",
    "max_errors",
    type=BoundedInt(0),
    default=20,
    show_default=True,
    help="List at most this many misses and false hits (0: none).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the figures and every error as JSON.")
@pack_option
@pass_ctx
def eval_cmd(
    ctx: CliContext,
    file: Path,
    split: str | None,
    lang: str | None,
    only: tuple[str, ...],
    max_errors: int,
    as_json: bool,
    packs: tuple[str, ...],
) -> None:
    """Precision and recall of the rules on your labelled texts (TSV or JSONL), with misses and false hits.

    \b
    TSV (.tsv): text<TAB>rule<TAB>yes|no, one label per line; \\n in the text is a line break.
    JSONL (.jsonl): {"text": "...", "labels": {"evacuation": true, "shelling": false}} per line,
      optional "id", "lang" and "split" (filter with --lang / --split).
    Blank lines and lines starting with # are skipped. A bad line: one message with file:line, exit 3.

    \b
    Examples:
      telewatch rules eval my-labels.tsv
      telewatch rules eval --pack shelling --split dev bench/eval/real/ru.jsonl
    """
    from bot.rules.evaluation import EvalInputError, evaluate, read_examples, select

    try:
        with file.open(encoding="utf-8") as f:
            examples = read_examples(f, str(file))
    except EvalInputError as e:
        raise SourceError(str(e), hint="see `telewatch rules eval --help` for the formats") from None
    except UnicodeDecodeError as e:
        raise SourceError(f"{file}: not UTF-8 text ({e.reason} at byte {e.start})") from None
    except OSError as e:
        raise SourceError(f"{file}: cannot be read ({e.strerror})") from None
    chosen = select(examples, split, lang)
    if not chosen:
        raise NotFound(
            f"{file}: no labelled texts" + (" match the --split/--lang filter" if examples else ""),
            hint='records need "split"/"lang" fields for those filters' if examples else None,
        )
    matcher = _compile(_specs(ctx, packs))
    if only:
        unknown = sorted(set(only) - set(matcher.names))
        if unknown:
            raise NotFound(f"no rule named {unknown[0]!r}", hint="rules: " + ", ".join(matcher.names))
    result = evaluate(matcher, matcher.names, chosen, only=only or None)
    if result.unknown_rules:
        ctx.warn(_unknown_labels(result.unknown_rules, matcher.names))
    if as_json:
        print_json({"file": str(file), "split": split, "lang": lang, **result.to_dict()})
        return
    _print_eval(ctx, result, max_errors)


def _unknown_labels(unknown: dict[str, int], names: Sequence[str]) -> str:
    """'labels for rules not in the config were skipped: drones (3, did you mean 'drone'?)'."""
    import difflib

    parts = []
    for rule, n in sorted(unknown.items()):
        close = difflib.get_close_matches(rule, names, n=1)
        parts.append(
            f"{rule} ({n} label{'s' if n != 1 else ''}" + (f", did you mean '{close[0]}'?)" if close else ")")
        )
    known = "" if any("did you mean" in p for p in parts) else f"; rules: {', '.join(names) or 'none'}"
    return "labels for rules not in the config were skipped: " + ", ".join(parts) + known


def _print_eval(ctx: CliContext, result: Any, max_errors: int) -> None:
    table = Table(title=f"{result.examples} labelled texts")
    for col in ("rule", "labels", "yes", "TP", "FP", "FN", "precision", "recall", "F1"):
        table.add_column(col, justify="left" if col == "rule" else "right")

    def row(name: str, c: Any, style: str = "") -> None:
        cells = [
            name,
            c.n,
            c.positives,
            c.tp,
            c.fp,
            c.fn,
            *((f"{c.precision:.2f}", f"{c.recall:.2f}", f"{c.f1:.2f}") if c.n else ("n/a",) * 3),
        ]
        table.add_row(*(f"[{style}]{x}[/{style}]" if style else str(x) for x in cells))

    for name, counts in sorted(result.rules.items()):
        row(escape(name), counts)
    row("micro total", result.total, "bold")
    ctx.console.print(table)
    shown = result.errors[:max_errors] if max_errors > 0 else []
    for e in shown:
        from bot.rules.evaluation import trim

        colour = "red" if e.kind == "false hit" else "yellow"
        words = f" [{', '.join(map(repr, e.words))}]" if e.words else ""
        ref = e.example.id or e.example.where
        ctx.console.print(
            f"[{colour}]{e.kind}[/{colour}] {escape(e.rule)} {escape(ref)}{escape(words)}: {escape(trim(e.example.text))}"
        )
        if e.note:
            ctx.console.print(f"    [dim]{escape(e.note)}[/dim]")
    if len(result.errors) > len(shown):
        ctx.console.print(
            f"[dim]… {len(result.errors) - len(shown)} more (--errors N, or --json for all)[/dim]"
        )


@rules.command("check")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@click.option("--verbose", "-v", is_flag=True, help="List every term, not only those with warnings.")
@pack_option
@pass_ctx
def check_cmd(ctx: CliContext, as_json: bool, verbose: bool, packs: tuple[str, ...]) -> None:
    """Validate every rule and flag terms that expand to suspiciously many or no forms.

    Exits 2 if a rule cannot be compiled (the error names the rule and the term), 0 otherwise;
    warnings do not fail.
    """
    from bot.rules.check import check_rules

    matcher = _compile(_specs(ctx, packs))
    checks = check_rules(matcher)
    if as_json:
        print_json({"rules": len(matcher.names), "terms": [c.to_dict() for c in checks]})
        return
    rows = [c for c in checks if verbose or c.warning]
    table = Table(title="terms with warnings" if not verbose else "terms", expand=True)
    for col in ("rule", "role", "term", "lang", "forms", "examples / warning"):
        table.add_column(col, ratio=1 if col.startswith("examples") else None)
    for c in rows:
        note = f"[yellow]{escape(c.warning)}[/yellow]" if c.warning else escape(", ".join(c.examples))
        table.add_row(escape(c.rule), c.role, escape(c.term), "/".join(c.languages), str(c.forms), note)
    if rows:
        ctx.console.print(table)
    warned = sum(1 for c in checks if c.warning)
    ctx.console.print(
        f"[green]{len(matcher.names)} rules, {len(checks)} terms compile[/green]"
        + (f"; [yellow]{warned} warnings[/yellow]" if warned else "; no warnings")
    )


@rules.command("packs")
def packs_cmd() -> None:
    """List the shipped rule packs (use them with rule_packs = [...] in the config)."""
    from bot.rules.packs import available_packs, pack_path

    for name in available_packs():
        click.echo(f"{name:14} {pack_path(name)}")


@rules.command("rescan")
@click.argument("rule")
@click.option("--since", type=When(), help="Only posts from this time: 2024-08-06, 3d, 12h, today...")
@click.option(
    "--alert", is_flag=True, help="Also enqueue alerts for old posts that match (default: only record)."
)
@click.option("--json", "as_json", is_flag=True, help="Print the counts as JSON.")
@pack_option
@pass_ctx
@run_async
async def rescan_cmd(
    ctx: CliContext, rule: str, since: datetime | None, alert: bool, as_json: bool, packs: tuple[str, ...]
) -> None:
    """Apply RULE to the stored archive and record its matches, without alerting unless --alert.

    Use it after adding or changing a rule. Matches recorded earlier for posts that no longer
    match the rule are kept and marked superseded (`posts show` lists them); nothing is deleted,
    and alerts already sent stay in the outbox as history.
    """
    from bot.app.runtime import open_runtime
    from bot.domain.records import SearchFilter

    specs = [s for s in _specs(ctx, packs) if s.name == rule]
    if not specs:
        names = ", ".join(s.name for s in _specs(ctx, packs))
        raise NotFound(f"no rule named {rule!r}", hint=f"rules: {names}")
    matcher = _compile(specs)
    async with open_runtime(ctx.settings, ctx.database, matcher=matcher, sinks={}) as rt:
        total = await rt.store.posts.count() if since is None else None
        counts = await _rescan(ctx, rt, matcher, rule, SearchFilter(since=since), total, alert)
    if as_json:
        print_json({"rule": rule, **counts})
    else:
        ctx.console.print(
            f"{rule}: scanned {counts['scanned']} posts, {counts['matched']} match"
            + (
                f", {counts['superseded']} earlier matches no longer hold (kept, marked superseded)"
                if counts["superseded"]
                else ""
            )
            + (f", {counts['alerts']} alerts enqueued" if alert else " (no alerts; --alert to send them)")
        )


async def _rescan(
    ctx: CliContext, rt: Runtime, matcher: Any, rule: str, where: Any, total: int | None, alert: bool
) -> dict[str, int]:
    counts = {"scanned": 0, "matched": 0, "superseded": 0, "alerts": 0}
    batch: list[StoredPost] = []

    async def flush() -> None:
        result = await rt.pipeline.rescan(batch, matcher, {rule}, alert=alert)
        counts["matched"] += result.matches
        counts["superseded"] += result.superseded
        counts["alerts"] += result.alerts
        batch.clear()

    columns = (TextColumn("rescan"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=ctx.err_console, disable=not ctx.err_console.is_terminal) as bar:
        task = bar.add_task("rescan", total=total)
        async for stored in rt.store.posts.iterate(where):
            counts["scanned"] += 1
            bar.advance(task)
            batch.append(stored)
            if len(batch) >= 500:
                await flush()
        if batch:
            await flush()
    return counts
