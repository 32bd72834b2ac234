"""Load the TOML config once: parse, validate every key, merge rule packs and environment, freeze."""

from __future__ import annotations

import dataclasses
import difflib
import re
import tomllib
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from bot.domain import packs
from bot.domain.errors import ConfigError, RuleError
from bot.domain.models import RuleSpec
from config import schema
from config.convert import Source, find_secrets
from config.env import API_HASH, API_ID, BOT_TOKEN, lookup, telegram_env
from config.positions import KeyLines
from config.settings import RouteSettings, Settings

_PACK_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
_ERROR_PLACE = re.compile(r"^[^:]*(?::\d+)?: (?:key '[^']*': )?")
_TOML_POS = re.compile(r"\s*\(at line (\d+), column (\d+)\)")

RuleCheck = Callable[[tuple[RuleSpec, ...]], object]
"""Checks the rules' terms, raising RuleError for a bad one: the rules engine's compile_rules, given by the
caller. config/ depends on the domain only, so it never imports the engine; without a check, term syntax is
first checked when the matcher is built."""


def load(
    path: Path,
    environ: Mapping[str, str],
    *,
    check_rules: RuleCheck | None = None,
    route_secrets: bool = True,
) -> Settings:
    """Read, validate and freeze the config at `path`; secrets come from `environ` or a .env file;
    `check_rules` (the engine's compile_rules) checks rule terms, naming the file, key and line.
    `route_secrets=False` (commands that deliver nothing) leaves a route whose ${NAME} is unset unresolved."""
    return load_text(read_text(path), path, environ, check_rules=check_rules, route_secrets=route_secrets)


def read_text(path: Path, *, keep_bom: bool = False) -> str:
    """The config file's text, or a ConfigError saying how to create it.

    A leading byte-order mark is dropped (TOML does not allow one), unless `keep_bom`: the editor keeps
    it to write it back and to compare the file on disk with exactly what it read.
    """
    try:
        # Bytes, not read_text: newline translation would turn a CRLF file into LF on every edit.
        # utf-8-sig: editors on Windows save a byte-order mark, which TOML itself does not allow.
        return path.read_bytes().decode("utf-8" if keep_bom else "utf-8-sig")
    except FileNotFoundError:
        raise ConfigError(
            "config file not found", file=path, hint=f"create it with: telewatch --config {path} init"
        ) from None
    except UnicodeDecodeError as e:
        raise ConfigError(f"is not UTF-8 text ({e.reason} at byte {e.start})", file=path) from None
    except OSError as e:
        raise ConfigError(f"cannot read the config file: {e.strerror}", file=path) from None


def load_text(
    text: str,
    path: Path,
    environ: Mapping[str, str],
    *,
    base_dir: Path | None = None,
    check_rules: RuleCheck | None = None,
    route_secrets: bool = True,
) -> Settings:
    """Validate `text` as if it were the content of `path` (the editor checks edits this way before writing).

    Relative paths in the file resolve against `base_dir`, by default the current working directory.
    """
    data = parse_toml(text, path)
    src = Source(path, KeyLines(text), base_dir or Path.cwd())
    find_secrets(data, src)
    settings = schema.settings(data, src)
    rules, origins = merge_packs(settings.rules, settings.rule_packs, src)
    _check_route_rules(settings, {r.name for r in rules}, src)
    if check_rules is not None:
        _check_terms(rules, origins, check_rules)
    env = telegram_env(path, environ)
    telegram = dataclasses.replace(
        settings.telegram,
        api_id=env.api_id if env.api_id is not None else settings.telegram.api_id,
        api_hash=env.api_hash,
        bot_token=env.bot_token,
    )
    routes = resolve_route_targets(settings.routes, path, environ, src, required=route_secrets)
    return dataclasses.replace(settings, path=path, rules=rules, telegram=telegram, routes=routes)


_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def resolve_route_targets(
    routes: Sequence[RouteSettings],
    path: Path,
    environ: Mapping[str, str],
    src: Source,
    *,
    required: bool = True,
) -> tuple[RouteSettings, ...]:
    """Each route's target with ${NAME} read from the environment or .env (secret URLs stay out of git)."""
    out: list[RouteSettings] = []
    for i, route in enumerate(routes):
        target = route.target or ""
        names = _ENV_REF.findall(target)
        values = {n: lookup(n, path, environ) for n in names}
        missing = [n for n, v in values.items() if v is None]
        if missing and not required:
            out.append(route)  # left unresolved: this command sends nothing through it
            continue
        if missing:
            raise src.error(
                f"names ${{{missing[0]}}}, which is set neither in the environment nor in .env",
                f"routes[{i}].target",
                hint=f"put {missing[0]}=... in .env beside the config file, or export it",
            )
        found = {n: v.value for n, v in values.items() if v is not None}
        resolved = _ENV_REF.sub(lambda m, found=found: found[m.group(1)], target) if target else None  # type: ignore[misc]
        out.append(dataclasses.replace(route, resolved_target=resolved))
    return tuple(out)


def parse_toml(text: str, path: Path | str) -> dict[str, Any]:
    """tomllib.loads, with a syntax error turned into a ConfigError carrying its line."""
    try:
        data = tomllib.loads(text)
        _check_depth(data, path)
        return data
    except tomllib.TOMLDecodeError as e:
        message = str(e)
        pos = _TOML_POS.search(message)
        problem = _TOML_POS.sub("", message)
        line = int(pos.group(1)) if pos else None
        hint = "TOML syntax: key = value, strings in quotes, [section], [[list-section]]"
        if pos:
            hint = f"column {pos.group(2)}; " + hint
        raise ConfigError(f"TOML syntax error: {problem}", file=path, line=line, hint=hint) from None
    except RecursionError:
        raise ConfigError("TOML nested too deeply to read (arrays or inline tables)", file=path) from None


_MAX_DEPTH = 32  # tables and arrays within each other; telewatch's own schema uses 4


def _check_depth(data: object, path: Path | str) -> None:
    """Reject absurd nesting before anything walks the data recursively."""
    level: list[object] = [data]
    for _ in range(_MAX_DEPTH):
        level = [
            v
            for x in level
            for v in (x.values() if isinstance(x, dict) else x if isinstance(x, list) else ())
        ]
        if not level:
            return
    raise ConfigError(f"tables or arrays nested more than {_MAX_DEPTH} levels deep", file=path)


# -- rule packs -----------------------------------------------------------------------------------------


def pack_path(name: str) -> Path:
    """Where the rule pack `name` lives (bot.domain.packs locates the shipped packs)."""
    return packs.pack_path(name)


def available_packs() -> tuple[str, ...]:
    """Names of the rule packs that can be listed in `rule_packs` (the files beside `pack_path`'s)."""
    folder = pack_path("x").parent
    return tuple(sorted(p.stem for p in folder.glob("*.toml"))) if folder.is_dir() else ()


def load_rule_pack(path: Path) -> tuple[RuleSpec, ...]:
    """The rules of one pack file: `description = "..."` and [[rules]] tables, as in the config."""
    text = read_text(path)
    data = parse_toml(text, path)
    src = Source(path, KeyLines(text))
    find_secrets(data, src)
    for key in data:
        if key not in ("rules", "description"):
            raise src.error("unknown key in a rule pack", key, expected="description, [[rules]]")
    return schema.rules(data.get("rules", []), src)


def merge_packs(
    own: Sequence[RuleSpec], packs: Sequence[str], src: Source
) -> tuple[tuple[RuleSpec, ...], dict[str, tuple[Path | str, str]]]:
    """Pack rules in pack order, each replaced by a config rule of the same name, then the other config rules.

    Also returns where each rule is written: name -> (file, dotted key), for errors found later.
    """
    merged: dict[str, RuleSpec] = {}
    origins: dict[str, tuple[Path | str, str]] = {}
    from_pack: dict[str, str] = {}
    for i, name in enumerate(packs):
        key = f"rule_packs[{i}]"
        if not _PACK_NAME.fullmatch(name):
            raise src.error("is not a pack name", key, name, expected="letters, digits, '_', '-', '.'")
        if packs.index(name) != i:
            raise src.error("is listed twice", key, name)
        path = pack_path(name)
        if not path.is_file():
            names = available_packs()
            close = difflib.get_close_matches(name, names, n=1)
            raise src.error(
                "is not a known rule pack" + (f"; did you mean '{close[0]}'?" if close else ""),
                key,
                name,
                expected="one of: " + (", ".join(names) or f"(none: no *.toml in {path.parent})"),
            )
        for j, spec in enumerate(load_rule_pack(path)):
            if spec.name in from_pack:
                raise ConfigError(
                    f"rule '{spec.name}' is in both packs '{from_pack[spec.name]}' and '{name}'",
                    file=path,
                    key=f"rules[{j}].name",
                    hint="list only one of them in rule_packs, or rename the rule in one pack",
                )
            from_pack[spec.name] = name
            merged[spec.name] = spec
            origins[spec.name] = (path, f"rules[{j}]")
    for i, spec in enumerate(own):
        merged[spec.name] = spec  # replaces a pack rule in place, or appends
        origins[spec.name] = (src.file, f"rules[{i}]")
    return tuple(merged.values()), origins


def _check_route_rules(settings: Settings, names: set[str], src: Source) -> None:
    for i, route in enumerate(settings.routes):
        for j, rule in enumerate(route.rules):
            if rule not in names:
                close = difflib.get_close_matches(rule, sorted(names), n=1)
                raise src.error(
                    "names no rule" + (f"; did you mean '{close[0]}'?" if close else ""),
                    f"routes[{i}].rules[{j}]",
                    rule,
                    expected="a name from [[rules]] or a listed rule pack",
                )


# -- rule terms -----------------------------------------------------------------------------------------


def _check_terms(
    rules: tuple[RuleSpec, ...], origins: Mapping[str, tuple[Path | str, str]], compile_rules: RuleCheck
) -> None:
    """Let the rules engine check term syntax; point its error at the rule's key and line."""
    try:
        compile_rules(rules)
        return
    except RuleError as e:
        first = e
    # Compile one at a time to find which rule is at fault (only on the error path).
    for spec in rules:
        try:
            compile_rules((spec,))
        except RuleError as e:
            raise _locate(e, spec, origins) from e
    raise first


def _locate(e: RuleError, spec: RuleSpec, origins: Mapping[str, tuple[Path | str, str]]) -> ConfigError:
    file, key = origins[spec.name]
    for field, toml in (("any_", "any"), ("all_", "all"), ("none_", "none")):
        terms: tuple[str, ...] = getattr(spec, field)
        if e.value in terms:
            key = f"{key}.{toml}[{terms.index(e.value)}]"
            break
    text = file.read_text(encoding="utf-8") if isinstance(file, Path) and file.is_file() else ""
    line = KeyLines(text).line_of(key) if text else None
    return RuleError(
        f"rule '{spec.name}': {_problem_of(e)}",
        file=file,
        key=key,
        line=line,
        value=e.value,
        expected=e.expected,
        hint=e.hint,
    )


def _problem_of(e: ConfigError) -> str:
    """The bare problem of an error raised without a file: its message minus place and value parts."""
    text = _ERROR_PLACE.sub("", str(e), count=1)
    if e.expected:
        text = text.removesuffix(f"; expected {e.expected}")
    if e.value is not None:
        text = text.removesuffix(f" (got {e.value!r})")
    return text


# -- credentials ----------------------------------------------------------------------------------------


def require_telegram(settings: Settings, *, need_bot_token: bool = False) -> None:
    """Raise a ConfigError naming each missing credential, for commands that talk to Telegram."""
    tg = settings.telegram
    missing: list[str] = []
    if tg.api_id is None:
        missing.append(f"api_id ([telegram] api_id in the config, or {API_ID})")
    if tg.api_hash is None:
        missing.append(API_HASH)
    if need_bot_token and tg.bot_token is None:
        missing.append(BOT_TOKEN)
    if missing:
        where = (settings.path.parent if settings.path else Path.cwd()) / ".env"
        raise ConfigError(
            "missing Telegram credentials: " + ", ".join(missing),
            file=settings.path,
            hint=f"put them in {where} (e.g. {API_HASH}=0123...) or the environment; "
            "api_id and api_hash come from https://my.telegram.org, the bot token from @BotFather",
        )
