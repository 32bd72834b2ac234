"""telewatch's search syntax (FTS5's: words, "phrases", prefix*, AND, OR, NOT, brackets) as a tsquery.

Every word and phrase is looked for twice, ORed: through `telewatch_russian` (PostgreSQL's Russian
Snowball stems, and English ones for Latin words, without stop words) and through `telewatch_simple` (each word as
written, lower-cased, accents removed: the form that finds Ukrainian, which PostgreSQL has no stemmer for).
A query that does not parse falls back, as the SQLite search does, to all its pieces as literal phrases.
"""

from __future__ import annotations

from typing import Any

from storage.posts import _tokens

CONFIGS = ("telewatch_russian", "telewatch_simple")
OPERATORS = {"AND", "OR", "NOT", "NEAR"}


class QuerySyntaxError(ValueError):
    """The query is not valid search syntax (the caller falls back to a literal search)."""


def _phrase(text: str) -> tuple[str, list[Any]]:
    sql = " || ".join(f"phraseto_tsquery('{c}', ?)" for c in CONFIGS)
    return f"({sql})", [text] * len(CONFIGS)


def _prefix(word: str) -> tuple[str, list[Any]]:
    quoted = "'" + word.replace("'", "''").replace("\\", "\\\\") + "':*"
    sql = " || ".join(f"to_tsquery('{c}', ?)" for c in CONFIGS)
    return f"({sql})", [quoted] * len(CONFIGS)


class _Parser:
    def __init__(self, tokens: list[str]) -> None:
        self.tokens = tokens
        self.pos = 0

    def peek(self) -> str | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> str:
        token = self.tokens[self.pos]
        self.pos += 1
        return token

    def parse(self) -> tuple[str, list[Any]]:
        sql, params = self.or_expr()
        if self.peek() is not None:
            raise QuerySyntaxError(f"unexpected {self.peek()!r}")
        return sql, params

    def or_expr(self) -> tuple[str, list[Any]]:
        sql, params = self.and_expr()
        while self.peek() == "OR":
            self.take()
            right, more = self.and_expr()
            sql, params = f"({sql} || {right})", params + more
        return sql, params

    def and_expr(self) -> tuple[str, list[Any]]:
        sql, params = self.not_expr()
        while self.peek() is not None and self.peek() not in ("OR", ")"):
            if self.peek() == "AND":
                self.take()
            right, more = self.not_expr()
            sql, params = f"({sql} && {right})", params + more
        return sql, params

    def not_expr(self) -> tuple[str, list[Any]]:
        sql, params = self.primary()
        while self.peek() == "NOT":
            self.take()
            right, more = self.primary()
            sql, params = f"({sql} && !!{right})", params + more
        return sql, params

    def primary(self) -> tuple[str, list[Any]]:
        token = self.peek()
        if token is None:
            raise QuerySyntaxError("the query ends too early")
        self.take()
        if token == "(":
            sql, params = self.or_expr()
            if self.peek() != ")":
                raise QuerySyntaxError("unbalanced brackets")
            self.take()
            return sql, params
        if token == ")" or token in OPERATORS:
            raise QuerySyntaxError(f"unexpected {token!r}")
        if token.startswith('"'):
            inner = token[1:-1] if token.endswith('"') and len(token) > 1 else token[1:]
            return _phrase(inner.replace('""', '"'))
        if token.endswith("*") and len(token) > 1 and token[:-1].replace("_", "").isalnum():
            return _prefix(token[:-1])
        if token.endswith("*"):
            raise QuerySyntaxError(f"bad prefix {token!r}")
        return _phrase(token)


def tsquery_sql(query: str) -> tuple[str, list[Any]]:
    """(SQL expression of type tsquery, its parameters) for `query`; QuerySyntaxError when it does not parse."""
    tokens = _tokens(query.strip())
    if not tokens:
        return "''::tsquery", []
    return _Parser(tokens).parse()


def literal_tsquery_sql(query: str) -> tuple[str, list[Any]]:
    """Every whitespace-separated piece of `query` as a phrase, all required (the fallback)."""
    pieces = [p.replace('"', "") for p in query.split()]
    parts = [_phrase(p) for p in pieces if p]
    if not parts:
        return "''::tsquery", []
    sql = " && ".join(s for s, _ in parts)
    return f"({sql})", [v for _, ps in parts for v in ps]


def search_sql(query: str) -> tuple[str, list[Any], bool]:
    """(tsquery SQL, params, literal) with the fallback applied."""
    try:
        sql, params = tsquery_sql(query)
        return sql, params, False
    except QuerySyntaxError:
        sql, params = literal_tsquery_sql(query)
        return sql, params, True
