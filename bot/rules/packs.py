"""Shipped rule packs (located by bot.domain.packs, the one pack locator)."""

from __future__ import annotations

from bot.domain.packs import available_packs, pack_dir, pack_path

__all__ = ["available_packs", "pack_dir", "pack_path"]
