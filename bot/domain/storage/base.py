"""The unit of work handed to repository methods that write."""

from __future__ import annotations

from typing import Protocol


class Transaction(Protocol):
    """An open unit of work, opaque to callers: pass it on to the repository methods that take one."""
