"""The storage port is a package by part; `from bot.domain.storage import X` names every Protocol of it."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from typing import Protocol

import bot.domain.storage as port


def test_every_protocol_of_every_part_is_exported_by_the_package() -> None:
    defined: set[str] = set()
    for info in pkgutil.iter_modules(port.__path__):
        module = importlib.import_module(f"{port.__name__}.{info.name}")
        for name, value in vars(module).items():
            if inspect.isclass(value) and value.__module__ == module.__name__ and Protocol in value.__mro__:
                defined.add(name)
    assert defined
    assert set(port.__all__) == defined
    assert all(getattr(port, name).__module__.startswith(f"{port.__name__}.") for name in defined)


def test_the_aggregate_names_every_repository_of_the_port() -> None:
    from bot.domain.storage import Storage

    members = dict(inspect.getmembers(Storage))
    for repo in ("channels", "posts", "matches", "alerts", "cursors", "notices", "leases", "relevance"):
        assert repo in members, repo
