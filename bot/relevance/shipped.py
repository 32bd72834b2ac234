"""The relevance models shipped with the rule packs: config/rules/models/<pack>.json, built by `make models`.

Each file holds the models of one pack's rules and the SHA-256 of the pack file they were built
beside, so a pack edited since is reported (its models still score: they judge the text, not terms).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.relevance.model import ModelFormatError, RelevanceModel
from bot.rules.packs import pack_dir, pack_path

PACK_FORMAT = "telewatch-relevance-pack/1"


@dataclass(frozen=True, slots=True)
class PackModels:
    pack: str
    pack_sha256: str
    models: Mapping[str, RelevanceModel]

    @property
    def current(self) -> bool:
        """Whether the pack file is the one the models were built beside."""
        path = pack_path(self.pack)
        return path.is_file() and pack_sha256(path) == self.pack_sha256


def models_dir() -> Path:
    return pack_dir() / "models"


def model_path(pack: str) -> Path:
    return models_dir() / f"{pack}.json"


def pack_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def dump_pack(pack: str, models: Sequence[RelevanceModel], sha256: str) -> str:
    """The file text of a pack's models (sorted keys, one model a line: small diffs)."""
    lines = [
        json.dumps(m.to_dict(), ensure_ascii=False, separators=(",", ":"))
        for m in sorted(models, key=lambda m: m.rule)
    ]
    head = json.dumps({"format": PACK_FORMAT, "pack": pack, "pack_sha256": sha256})
    return head[:-1] + ', "models": [\n' + ",\n".join(lines) + "\n]}\n"


def parse_pack(text: str, source: str) -> PackModels:
    """A pack's models from their file text; ModelFormatError names the file and the problem."""
    try:
        data: Any = json.loads(text)
    except json.JSONDecodeError as e:
        raise ModelFormatError(f"{source}: not valid JSON ({e.msg} at line {e.lineno})") from None
    if not isinstance(data, dict) or data.get("format") != PACK_FORMAT:
        raise ModelFormatError(f"{source}: not a pack of relevance models (format {PACK_FORMAT!r})")
    items = data.get("models")
    if not isinstance(items, list):
        raise ModelFormatError(f'{source}: "models" must be a list')
    models: dict[str, RelevanceModel] = {}
    for i, item in enumerate(items):
        try:
            model = RelevanceModel.from_dict(item)
        except ModelFormatError as e:
            raise ModelFormatError(f"{source}: models[{i}]: {e}") from None
        models[model.rule] = model
    return PackModels(str(data.get("pack", "")), str(data.get("pack_sha256", "")), models)


def load_packs(packs: Iterable[str]) -> dict[str, PackModels]:
    """The shipped models of these packs (a pack without a model file has none)."""
    out: dict[str, PackModels] = {}
    for pack in packs:
        path = model_path(pack)
        if path.is_file():
            out[pack] = parse_pack(path.read_text(encoding="utf-8"), str(path))
    return out
