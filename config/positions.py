"""Line numbers of keys in TOML source, so errors can point at the line ('channels[2].label' -> 17)."""

from __future__ import annotations

import re

_BARE = re.compile(r"[A-Za-z0-9_-]+")


class KeyLines:
    """Maps dotted key paths (with [i] for array items) to the 1-based line where they are written."""

    def __init__(self, text: str) -> None:
        self._lines: dict[str, int] = {}
        _Scanner(text, self._lines).run()

    def line_of(self, path: str) -> int | None:
        """The line of `path`, or of its nearest written ancestor; None if nothing of it is in the file."""
        while path:
            if path in self._lines:
                return self._lines[path]
            path = _parent(path)
        return None

    def __contains__(self, path: object) -> bool:
        return path in self._lines


def _parent(path: str) -> str:
    """'a.b[2].c' -> 'a.b[2]' -> 'a.b' -> 'a' -> ''."""
    if path.endswith("]"):
        return path[: path.rindex("[")]
    return path.rpartition(".")[0]


def _join(prefix: str, key: str) -> str:
    return f"{prefix}.{key}" if prefix else key


class _Scanner:
    """A tolerant single pass over TOML text: tracks strings, headers, keys and nesting (never raises)."""

    def __init__(self, text: str, out: dict[str, int]) -> None:
        self.s = text
        self.i = 0
        self.line = 1
        self.out = out
        self.prefix = ""
        self.aot: dict[str, int] = {}  # resolved array-of-tables path -> current index

    def run(self) -> None:
        n = len(self.s)
        while self.i < n:
            c = self.s[self.i]
            if c == "\n":
                self.line += 1
                self.i += 1
            elif c in " \t\r":
                self.i += 1
            elif c == "#":
                self._skip_to_eol()
            elif c == "[":
                self._header()
            else:
                self._key_value()

    def _skip_to_eol(self) -> None:
        end = self.s.find("\n", self.i)
        self.i = len(self.s) if end < 0 else end

    def _header(self) -> None:
        double = self.s.startswith("[[", self.i)
        self.i += 2 if double else 1
        end = self.s.find("]", self.i)
        eol = self.s.find("\n", self.i)
        if end < 0 or (0 <= eol < end):
            self._skip_to_eol()
            return
        parts = _split_key(self.s[self.i : end])
        self.i = end + (2 if double else 1)
        resolved = ""
        for k, part in enumerate(parts):
            resolved = _join(resolved, part)
            last = k == len(parts) - 1
            if last and double:
                index = self.aot.get(resolved, -1) + 1
                self.aot[resolved] = index
                resolved = f"{resolved}[{index}]"
            elif resolved in self.aot:
                resolved = f"{resolved}[{self.aot[resolved]}]"
            self.out.setdefault(resolved, self.line)
        self.prefix = resolved
        self._skip_to_eol()

    def _key_value(self) -> None:
        start = self.i
        eq = self._find_equals()
        if eq < 0:
            self._skip_to_eol()
            return
        path = self.prefix
        for part in _split_key(self.s[start:eq]):
            path = _join(path, part)
            self.out.setdefault(path, self.line)
        self.i = eq + 1
        self._value(path)

    def _find_equals(self) -> int:
        """Index of the '=' ending a key (quotes respected), or -1 if the line has none."""
        j = self.i
        while j < len(self.s) and self.s[j] != "\n":
            c = self.s[j]
            if c in "\"'":
                close = self.s.find(c, j + 1)
                if close < 0:
                    return -1
                j = close
            elif c == "=":
                return j
            j += 1
        return -1

    def _value(self, path: str) -> None:
        """Skip one value, recording the line of each inline table/array item at the first level."""
        stack: list[tuple[str, str, int]] = []  # (closer, path of the container, next item index)
        expecting_item = False
        n = len(self.s)
        while self.i < n:
            c = self.s[self.i]
            if c == "\n":
                if not stack:
                    return
                self.line += 1
                self.i += 1
                continue
            if c == "#":
                self._skip_to_eol()
                continue
            if stack and expecting_item and c not in " \t\r,]":
                closer, cpath, index = stack[-1]
                if closer == "]":
                    self.out.setdefault(f"{cpath}[{index}]", self.line)
                expecting_item = False
            if c in "\"'":
                self._skip_string(c)
                continue
            if c in "[{":
                if stack and stack[-1][0] == "]":
                    parent = f"{stack[-1][1]}[{stack[-1][2]}]"
                elif stack:
                    parent = stack[-1][1]
                else:
                    parent = path
                stack.append(("]" if c == "[" else "}", parent, 0))
                expecting_item = c == "["
            elif c in "]}":
                if stack:
                    stack.pop()
                if not stack:
                    self.i += 1
                    self._skip_to_eol()
                    return
            elif c == "," and stack:
                closer, cpath, index = stack[-1]
                stack[-1] = (closer, cpath, index + 1)
                expecting_item = closer == "]"
            elif c == "=" and stack and stack[-1][0] == "}":
                self._record_inline_key(stack[-1][1])
            self.i += 1

    def _record_inline_key(self, container: str) -> None:
        """Record `container.key` for the key written just before the '=' at self.i."""
        j = self.i - 1
        while j >= 0 and self.s[j] not in "{,\n":
            j -= 1
        for part in _split_key(self.s[j + 1 : self.i])[:1]:
            self.out.setdefault(_join(container, part), self.line)

    def _skip_string(self, quote: str) -> None:
        triple = self.s.startswith(quote * 3, self.i)
        delim = quote * 3 if triple else quote
        j = self.i + len(delim)
        while j < len(self.s):
            c = self.s[j]
            if c == "\\" and quote == '"':
                j += 2
                continue
            if c == "\n":
                if not triple:
                    break
                self.line += 1
            if self.s.startswith(delim, j):
                j += len(delim)
                # a closing """ may be followed by up to two more quotes that belong to the string
                while triple and j < len(self.s) and self.s[j] == quote:
                    j += 1
                break
            j += 1
        self.i = j


def _split_key(raw: str) -> list[str]:
    """Split a (possibly dotted, possibly quoted) key into its parts."""
    parts: list[str] = []
    i, s = 0, raw.strip()
    while i < len(s):
        c = s[i]
        if c in " \t.":
            i += 1
        elif c in "\"'":
            close = s.find(c, i + 1)
            close = len(s) if close < 0 else close
            parts.append(s[i + 1 : close])
            i = close + 1
        else:
            m = _BARE.match(s, i)
            if not m:
                break
            parts.append(m.group())
            i = m.end()
    return parts
