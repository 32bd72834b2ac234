"""Turn parsed TOML tables into the frozen settings dataclasses, with one precise error per bad value."""

from __future__ import annotations

import dataclasses
import difflib
import types
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import time
from pathlib import Path
from typing import Any, TypeVar, Union, get_args, get_origin, get_type_hints

from bot.domain.errors import ConfigError
from bot.domain.models import SENTENCE, TEXT, RuleSpec, Severity
from config.env import DB_PASSWORD, SECRET_KEYS
from config.positions import KeyLines
from config.ranges import range_of

T = TypeVar("T")

# TOML spells these fields differently from the dataclass (Python keywords / builtins).
RENAMES: dict[type, dict[str, str]] = {RuleSpec: {"any": "any_", "all": "all_", "none": "none_"}}


@dataclass(frozen=True)
class Source:
    """The file being converted: names it in errors, finds key lines, anchors relative paths."""

    file: Path | str
    lines: KeyLines | None = None
    base_dir: Path = dataclasses.field(default_factory=Path.cwd)

    def error(
        self,
        problem: str,
        key: str,
        value: object = None,
        expected: str | None = None,
        hint: str | None = None,
    ) -> ConfigError:
        """A ConfigError for `key` of this file, with its line when the key is written in the file."""
        line = self.lines.line_of(key) if self.lines is not None else None
        return ConfigError(
            problem, file=self.file, key=key, value=value, line=line, expected=expected, hint=hint
        )

    def path(self, raw: str) -> Path:
        """A path from the config: '~' expanded, relative ones anchored at base_dir (the working dir)."""
        p = Path(raw).expanduser()
        return p if p.is_absolute() else self.base_dir / p


# A special converter takes (raw value, dotted key, source) and returns the field value.
Special = Callable[[Any, str, Source], Any]


def toml_keys(cls: type) -> dict[str, str]:
    """TOML key -> dataclass field name for the settable fields of `cls`."""
    renames = {v: k for k, v in RENAMES.get(cls, {}).items()}
    return {renames.get(f.name, f.name): f.name for f in dataclasses.fields(cls)}


def find_secrets(data: Mapping[str, Any], src: Source, prefix: str = "") -> None:
    """Raise if any table anywhere holds a secret key: those belong in .env, never in a file in git."""
    for key, value in data.items():
        path = f"{prefix}.{key}" if prefix else key
        if key in SECRET_KEYS:
            where = DB_PASSWORD if path == "storage.password" else SECRET_KEYS[key]
            move = f"move it to .env as {where}=..." if where.startswith("TELEWATCH_") else f"use {where}"
            raise src.error(
                f"secrets must not be in the config file; {move}",
                path,
                hint=f"delete the line from {src.file}; .env beside the config (or in the working "
                "directory) and the environment are read, and .env is git-ignored",
            )
        if isinstance(value, Mapping):
            find_secrets(value, src, path)
        elif isinstance(value, list):
            for i, item in enumerate(value):
                if isinstance(item, Mapping):
                    find_secrets(item, src, f"{path}[{i}]")


def build(
    cls: type[T],
    data: Any,
    key: str,
    src: Source,
    *,
    special: Mapping[str, Special] | None = None,
    exclude: frozenset[str] = frozenset(),
) -> T:
    """Build dataclass `cls` from TOML table `data` at dotted `key`; unknown keys and bad types raise."""
    if not isinstance(data, Mapping):
        raise src.error("must be a table", key, _shown(data), expected=_table_hint(key))
    names = {k: f for k, f in toml_keys(cls).items() if f not in exclude}
    hints = get_type_hints(cls)
    kwargs: dict[str, Any] = {}
    for tkey, raw in data.items():
        sub = f"{key}.{tkey}" if key else tkey
        if tkey not in names:
            raise _unknown(tkey, sub, sorted(names), src)
        fname = names[tkey]
        if special and fname in special:
            kwargs[fname] = special[fname](raw, sub, src)
        else:
            kwargs[fname] = convert(hints[fname], raw, sub, src)
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        missing = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        if missing and f.name not in kwargs:
            tkey = {v: k for k, v in names.items()}.get(f.name, f.name)
            raise src.error(f"is required but missing (add `{tkey} = ...`)", f"{key}.{tkey}" if key else tkey)
    return cls(**kwargs)


def convert(tp: Any, raw: Any, key: str, src: Source) -> Any:
    """Convert one TOML value to the annotated type `tp`, or raise a ConfigError for `key`."""
    origin = get_origin(tp)
    if origin in (Union, types.UnionType):
        # TOML has no null: an optional field is simply omitted, so convert to the non-None type.
        (inner,) = [a for a in get_args(tp) if a is not type(None)]
        return convert(inner, raw, key, src)
    if origin is tuple:
        args = get_args(tp)
        if not isinstance(raw, list):
            raise src.error("must be a list", key, _shown(raw), expected=f"[{_describe(args[0])}, ...]")
        return tuple(convert(args[0], item, f"{key}[{i}]", src) for i, item in enumerate(raw))
    if tp is bool:
        if not isinstance(raw, bool):
            raise src.error("must be true or false", key, _shown(raw), expected="true or false")
        return raw
    if tp is int:
        if isinstance(raw, bool) or not isinstance(raw, int):
            raise src.error("must be a whole number", key, _shown(raw), expected="e.g. 12345 (no quotes)")
        return in_range(raw, key, src)
    if tp is float:
        if isinstance(raw, bool) or not isinstance(raw, int | float):
            raise src.error("must be a number", key, _shown(raw), expected="e.g. 5 or 2.5 (no quotes)")
        return in_range(float(raw), key, src)
    if tp is str:
        if not isinstance(raw, str):
            raise src.error("must be a string", key, _shown(raw), expected='a quoted string, e.g. "text"')
        return raw
    if tp is Path:
        if not isinstance(raw, str) or not raw.strip():
            raise src.error("must be a path", key, _shown(raw), expected='a quoted path, e.g. "data/x.db"')
        return src.path(raw)
    if tp is Severity:
        return severity(raw, key, src)
    if dataclasses.is_dataclass(tp) and isinstance(tp, type):
        return build(tp, raw, key, src)
    raise TypeError(f"no TOML conversion for {tp!r} at {key}")  # a schema bug, not a user error


N = TypeVar("N", int, float)


def in_range(value: N, key: str, src: Source, range_key: str | None = None) -> N:
    """The number itself when it lies in the documented range of its key (config.ranges)."""
    valid = range_of(range_key or key)
    if valid is not None and not valid.holds(value):
        raise src.error("is out of range", key, _shown(value), expected=valid.describe())
    return value


def severity(raw: Any, key: str, src: Source) -> Severity:
    """'info' | 'warning' | 'critical' (any case) -> Severity."""
    expected = '"info", "warning" or "critical"'
    if not isinstance(raw, str):
        raise src.error("must be a severity name", key, _shown(raw), expected=expected)
    try:
        return Severity.parse(raw)
    except ValueError:
        raise src.error("is not a severity", key, raw, expected=expected) from None


def quiet_hours(raw: Any, key: str, src: Source) -> tuple[time, time]:
    """'23:00-07:00' -> (23:00, 07:00); the range may wrap past midnight but may not be empty."""
    expected = '"HH:MM-HH:MM" in 24-hour time, e.g. "23:00-07:00"'
    if not isinstance(raw, str) or raw.count("-") != 1:
        raise src.error("is not a time range", key, _shown(raw), expected=expected)
    start_s, end_s = (p.strip() for p in raw.split("-"))
    try:
        start, end = time.fromisoformat(_hhmm(start_s)), time.fromisoformat(_hhmm(end_s))
    except ValueError:
        raise src.error("is not a time range", key, raw, expected=expected) from None
    if start == end:
        raise src.error("is an empty time range (start equals end)", key, raw, expected=expected)
    return start, end


def _hhmm(text: str) -> str:
    # time.fromisoformat accepts "7:00" poorly and "0700" too generously: insist on H:MM or HH:MM.
    hours, sep, minutes = text.partition(":")
    if not sep or not hours.isdigit() or not minutes.isdigit() or len(minutes) != 2 or len(hours) > 2:
        raise ValueError(text)
    return f"{int(hours):02d}:{minutes}"


SCOPE_EXPECTED = 'a positive number of words, "sentence" for the same sentence or "text" for anywhere'


def scope(raw: Any, key: str, src: Source) -> int:
    """The scope of a proximity condition: a number of words (>= 1), "sentence" (stored as 0) or "text" (-1)."""
    if raw == "sentence":
        return SENTENCE
    if raw == "text":
        return TEXT
    if isinstance(raw, bool) or not isinstance(raw, int):
        raise src.error("is not a scope", key, _shown(raw), expected=SCOPE_EXPECTED)
    if raw < 1:
        raise src.error("max_words must be at least 1", key, _shown(raw), expected=SCOPE_EXPECTED)
    return in_range(raw, key, src, "rules.near.max_words")


def near(raw: Any, key: str, src: Source) -> tuple[tuple[str, str, int], ...]:
    """near = [["term a", "term b", 5], ...]: both terms within that many words (or one "sentence")."""
    expected = 'a list of ["term", "term", max_words or "sentence"], e.g. [["эвакуация", "Суджа", 5]]'
    if not isinstance(raw, list):
        raise src.error("must be a list", key, _shown(raw), expected=expected)
    out: list[tuple[str, str, int]] = []
    for i, item in enumerate(raw):
        sub = f"{key}[{i}]"
        ok = isinstance(item, list) and len(item) == 3
        if ok:
            a, b, n = item
            ok = isinstance(a, str) and isinstance(b, str) and a.strip() != "" and b.strip() != ""
        if not ok:
            raise src.error("is not a proximity condition", sub, _shown(item), expected=expected)
        out.append((a, b, scope(n, f"{sub}[2]", src)))
    return tuple(out)


def gates(raw: Any, key: str, src: Source) -> tuple[tuple[tuple[str, ...], tuple[str, ...], int], ...]:
    """unless_near / only_near = [[term(s) or "*", other term(s), max_words or "sentence"], ...]."""
    expected = (
        'a list of [term or [terms] or "*", other term or [other terms], max_words or "sentence"], '
        'e.g. [["эвакуировать", ["автомобиль", "парковка"], 3]]'
    )
    if not isinstance(raw, list):
        raise src.error("must be a list", key, _shown(raw), expected=expected)
    out: list[tuple[tuple[str, ...], tuple[str, ...], int]] = []
    for i, item in enumerate(raw):
        sub = f"{key}[{i}]"
        ok = isinstance(item, list) and len(item) == 3
        if ok:
            terms, others = ([x] if isinstance(x, str) else x for x in item[:2])
            n = item[2]
            ok = all(
                isinstance(group, list) and group and all(isinstance(t, str) and t.strip() for t in group)
                for group in (terms, others)
            )
        if not ok:
            raise src.error("is not a proximity condition", sub, _shown(item), expected=expected)
        out.append((tuple(terms), tuple(others), scope(n, f"{sub}[2]", src)))
    return tuple(out)


def _unknown(tkey: str, path: str, valid: list[str], src: Source) -> ConfigError:
    close = difflib.get_close_matches(tkey, valid, n=1, cutoff=0.6)
    problem = "unknown key" + (f"; did you mean '{close[0]}'?" if close else "")
    return src.error(problem, path, expected="one of: " + ", ".join(valid))


def _describe(tp: Any) -> str:
    if tp is str:
        return '"text"'
    if tp is int:
        return "number"
    return getattr(tp, "__name__", str(tp))


def _table_hint(key: str) -> str:
    return f"a table: [{key}] with keys below it" if key else "a table"


def _shown(raw: Any) -> Any:
    """Value for an error message: long values are cut so the error stays one line."""
    text = repr(raw)
    return raw if len(text) <= 80 else text[:77] + "..."
