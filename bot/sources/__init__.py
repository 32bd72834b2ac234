"""Readers that turn files (telewatch JSONL, Telegram Desktop exports, Telethon dumps, corpora) into posts."""

from bot.sources.base import Source
from bot.sources.detect import FORMATS, classify, detect_format, open_source
from bot.sources.jsonl import encode_record, record_of
from bot.sources.records import BadRecord, Deletion, Pause, SourceItem

__all__ = [
    "FORMATS",
    "BadRecord",
    "Deletion",
    "Pause",
    "Source",
    "SourceItem",
    "classify",
    "detect_format",
    "encode_record",
    "open_source",
    "record_of",
]
