"""Commands that read or change the config file: /watch /unwatch /channels /rules /rule /test."""

from __future__ import annotations

from bot.chat.context import ChatContext, esc, problem
from bot.chat.models import Command, Reply, Usage
from bot.chat.parsing import parse_rule
from bot.chat.router import Router
from bot.domain.errors import ConfigError, NotFound, TelewatchError
from bot.domain.models import RuleSpec
from bot.domain.records import ChannelOverview
from bot.rules.report_text import explanation_lines
from config.edit import rule_to_toml
from config.settings import ChannelSettings

router = Router()


@router.command("watch", summary="add a channel (label optional)", usage="/watch <channel> [label]")
async def watch(ctx: ChatContext, cmd: Command, args: str) -> list[Reply]:
    """Add a channel to the config (with an optional label); the watcher picks it up at once."""
    parts = args.split()
    if not 1 <= len(parts) <= 2:
        raise Usage("give one channel and at most one label")
    ref, label = parts[0], (parts[1] if len(parts) == 2 else None)
    editor = ctx.require_editor()
    try:
        added = editor.add_channel(ref, label=label)
        await ctx.applied(editor.settings())
    except (ConfigError, NotFound) as e:
        return [Reply(problem(e) + f"\nusage: <code>{esc(router.usage('watch'))}</code>")]
    where = f" with label <b>{esc(added.label)}</b>" if added.label else ""
    return [Reply(f"👁 Now watching <b>{esc(added.ref)}</b>{where}. Saved to {esc(editor.path.name)}.")]


@router.command("unwatch", summary="stop watching a channel", usage="/unwatch <channel>")
async def unwatch(ctx: ChatContext, cmd: Command, args: str) -> list[Reply]:
    """Remove a channel from the config; its stored posts are kept."""
    parts = args.split()
    if len(parts) != 1:
        raise Usage("give exactly one channel")
    editor = ctx.require_editor()
    try:
        removed = editor.remove_channel(parts[0])
        await ctx.applied(editor.settings())
    except (ConfigError, NotFound) as e:
        return [Reply(problem(e))]
    return [Reply(f"🚫 Stopped watching <b>{esc(removed.ref)}</b>. Its stored posts are kept.")]


@router.command("channels", summary="channels with state, last post, posts today")
async def channels(ctx: ChatContext, cmd: Command, args: str) -> list[Reply]:
    """Configured channels with their state, newest post time and posts today."""
    if args:
        raise Usage("/channels takes no arguments")
    configured = ctx.settings().channels
    if not configured:
        return [Reply("No channels are configured. Add one with <code>/watch @name</code>.")]
    midnight = ctx.now().astimezone(ctx.zone).replace(hour=0, minute=0, second=0, microsecond=0)
    overview = await ctx.repo.channel_overview(midnight)
    lines = [await _channel_line(ctx, ch, overview) for ch in configured]
    return [ctx.pages.paginate(f"<b>Channels ({len(configured)})</b>", lines)]


async def _channel_line(
    ctx: ChatContext, setting: ChannelSettings, overview: dict[int, ChannelOverview]
) -> str:
    label = f" [{esc(setting.label)}]" if setting.label else ""
    head = f"• <b>{esc(setting.ref)}</b>{label}"
    if not setting.enabled:
        return head + " — disabled"
    channel = await ctx.find_channel(setting.ref)
    info = overview.get(channel.id) if channel is not None else None
    if channel is None or info is None:
        return head + " — not resolved yet"
    last = ctx.fmt_time(info.last_post_at)
    return f"{head} — {esc(info.state)} · last post {last} · {info.posts_since} today"


def _rule_line(rule: RuleSpec, muted: set[str]) -> str:
    terms = ", ".join((*rule.any_, *rule.all_))
    if len(terms) > 120:
        terms = terms[:119] + "…"
    extra = []
    if rule.labels:
        extra.append("labels " + ", ".join(rule.labels))
    if rule.channels:
        extra.append("channels " + ", ".join(rule.channels))
    if not rule.enabled:
        extra.append("disabled")
    if rule.name in muted:
        extra.append("muted")
    tail = f" <i>({esc('; '.join(extra))})</i>" if extra else ""
    return f"• <b>{esc(rule.name)}</b> {rule.severity.label} — {esc(terms)}{tail}"


@router.command("rules", summary="every rule in force")
async def rules(ctx: ChatContext, cmd: Command, args: str) -> list[Reply]:
    """Every rule in force (the file's and its rule packs'), with severity, terms and scope."""
    if args:
        raise Usage("/rules takes no arguments; see /rule show <name>")
    specs = ctx.settings().rules
    if not specs:
        return [Reply("No rules are configured. Add one with <code>/rule add name term, term</code>.")]
    muted = {m.value for m in await ctx.mutes.active(ctx.now()) if m.kind == "rule"}
    return [ctx.pages.paginate(f"<b>Rules ({len(specs)})</b>", [_rule_line(r, muted) for r in specs])]


@router.command(
    "rule",
    summary="add, remove or show a rule",
    usage="/rule add <name> [info|warning|critical] <term>, <term>… [; all: …] [; none: …] | /rule rm <name> | /rule show <name>",
)
async def rule(ctx: ChatContext, cmd: Command, args: str) -> list[Reply]:
    """/rule add|rm|show."""
    sub, _, rest = args.partition(" ")
    sub, rest = sub.lower(), rest.strip()
    if sub == "show":
        if not rest or " " in rest:
            raise Usage("give one rule name")
        return [_show_rule(ctx, rest)]
    if sub in ("rm", "remove", "del"):
        if not rest or " " in rest:
            raise Usage("give one rule name")
        editor = ctx.require_editor()
        try:
            removed = editor.remove_rule(rest)
            await ctx.applied(editor.settings())
        except (ConfigError, NotFound) as e:
            return [Reply(problem(e))]
        return [Reply(f"🗑 Rule <b>{esc(removed.name)}</b> removed.")]
    if sub == "add":
        values = parse_rule(rest)
        editor = ctx.require_editor()
        try:
            added = editor.add_rule(values)
            await ctx.applied(editor.settings())
        except (ConfigError, NotFound) as e:
            return [Reply(problem(e) + f"\nusage: <code>{esc(router.usage('rule'))}</code>")]
        return [Reply(f"✅ Rule added and in force:\n{_rule_line(added, set())}")]
    raise Usage("say add, rm or show")


def _show_rule(ctx: ChatContext, name: str) -> Reply:
    spec = next((r for r in ctx.settings().rules if r.name == name), None)
    if spec is None:
        raise Usage(f"no rule named {name!r}; /rules lists them")
    lines = [f"{key} = {_toml(value)}" for key, value in rule_to_toml(spec).items()]
    return Reply("<b>[[rules]]</b>\n<pre>" + esc("\n".join(lines)) + "</pre>")


def _toml(value: object) -> str:
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return str(value)


@router.command("test", summary="which rules match a text, and why", usage="/test <text>")
async def test(ctx: ChatContext, cmd: Command, args: str) -> list[Reply]:
    """Which rules match a text and why others do not (as `telewatch rules test`)."""
    if not args.strip():
        raise Usage("give a text to test")
    specs = ctx.settings().rules
    if not specs:
        return [Reply("No rules are configured, so nothing can match.")]
    try:
        matcher = ctx.rules(specs)
    except TelewatchError as e:
        return [Reply(problem(e))]
    reports = matcher.explain(args)
    lines = [_bold_verdict(esc(line)) for line in explanation_lines(reports)]
    if ctx.relevance is not None:
        for r in reports:
            score = ctx.relevance.score(r.rule, args) if r.matched else None
            if score is not None:
                lines.append(f"<b>{esc(r.rule)}</b>: {esc(score.describe())}")
    return [ctx.pages.paginate("<b>Rule test</b>", lines)]


def _bold_verdict(line: str) -> str:
    if line.startswith(("✓", "✗")):
        return f"<b>{line}</b>"
    return line
