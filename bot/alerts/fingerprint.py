"""Text fingerprints for near-duplicate detection: 3-word shingle hashes and MinHash LSH band keys.

A post's fingerprint is computed once and stored with its dedup row. Finding the earlier copies of a
post is then an index look-up of its band keys (cost independent of how many texts are in the dedup
window), followed by the exact test of `near_identical` on the few candidates, done on the stored
shingle hashes. MinHash with 32 bands of 2 rows finds every pair the exact test accepts on the real
news corpus (`make bench` prints the comparison); precision is exact by construction.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

SHINGLE = 3  # words per shingle
MIN_WORDS = 6  # shorter texts must be equal after normalisation to count as copies
SIMILAR = 0.8  # share of the shorter text's shingles found in the other
SIZE_RATIO = 0.5  # a short quote inside a long post is not a copy of it

BANDS = 32
ROWS = (
    2  # MinHash values per band: a pair sharing 40% of its shingles collides in some band 99.6% of the time
)
PERMUTATIONS = BANDS * ROWS
# A band key held by more texts than this in the window is ignored, like a stop word: templated posts
# ("Residents evacuated from X") share one, and true copies also share many rarer keys.
MAX_TEXTS_PER_KEY = 100
SMALL_SET = 256  # shingles: below this many, Python sets intersect faster than numpy

U64 = npt.NDArray[np.uint64]

# Fixed seeds: fingerprints are stored, so the hash family must never change between runs.
_rng = np.random.default_rng(0x7E1E_3A7C)
_MUL = _rng.integers(1, 2**63, PERMUTATIONS, dtype=np.uint64) * np.uint64(2) + np.uint64(1)  # odd
_ADD = _rng.integers(0, 2**63, PERMUTATIONS, dtype=np.uint64)
_K1, _K2, _K3 = np.uint64(0x9E3779B97F4A7C15), np.uint64(0xC2B2AE3D27D4EB4F), np.uint64(0x165667B19E3779F9)
_FNV = np.uint64(0x100000001B3)
_BAND_SALT = np.arange(1, BANDS + 1, dtype=np.uint64) * _K2
_SHIFT = np.uint64(32)
_EXACT = 0x5A17  # distinguishes the whole-text key of a short text from MinHash band keys


@dataclass(frozen=True, slots=True)
class Fingerprint:
    """What deduplication keeps of one normalised text."""

    norm: str
    words: int
    shingles: U64  # sorted, unique 64-bit hashes of the 3-word shingles (empty for short texts)
    keys: tuple[int, ...]  # LSH band keys (signed 64-bit, for SQLite); one whole-text key for short texts
    members: frozenset[int] = field(default=frozenset(), repr=False, compare=False)  # `shingles` as a set

    def shingle_blob(self) -> bytes:
        return self.shingles.tobytes()

    def near(self, norm: str, shingle_blob: bytes | None) -> bool:
        """`near_identical(self.norm, norm)`, computed on the other text's stored shingle hashes."""
        if not self.norm or not norm:
            return False
        if self.norm == norm:
            return True
        # A text shorter than MIN_WORDS has no shingles (see `fingerprint`): only an equal text is a copy.
        mine, theirs = len(self.shingles), len(shingle_blob) // 8 if shingle_blob else 0
        small, large = (mine, theirs) if mine <= theirs else (theirs, mine)
        if small == 0 or small / large < SIZE_RATIO:
            return False
        other = np.frombuffer(shingle_blob or b"", dtype=np.uint64)
        if large <= SMALL_SET:  # numpy's set operations cost more than the work on a post's few shingles
            common = len(self.members.intersection(other.tolist()))
        else:
            common = np.intersect1d(self.shingles, other, assume_unique=True).size
        return common / small >= SIMILAR


def shingle_hashes(norm: str) -> U64:
    """Sorted unique hashes of the text's 3-word shingles (the whole text when shorter than 3 words)."""
    words = norm.split()
    if not words:
        return np.empty(0, dtype=np.uint64)
    h = np.fromiter((zlib.crc32(w.encode()) for w in words), dtype=np.uint64, count=len(words))
    with np.errstate(over="ignore"):  # wrapping 64-bit arithmetic is the hash
        if len(h) < SHINGLE:
            mixed = np.array([int(np.sum(h * (_K1 + np.arange(len(h), dtype=np.uint64))))], dtype=np.uint64)
        else:
            mixed = h[:-2] * _K1 + h[1:-1] * _K2 + h[2:] * _K3
    return np.unique(mixed)


def band_keys(shingles: U64) -> tuple[int, ...]:
    """MinHash (multiply-shift hashes) of the shingle set, cut into LSH bands, one key per band."""
    with np.errstate(over="ignore"):
        sig = ((shingles[:, None] * _MUL[None, :] + _ADD[None, :]) >> _SHIFT).min(axis=0)
        rows = sig.reshape(BANDS, ROWS)
        key = np.zeros(BANDS, dtype=np.uint64)
        for r in range(ROWS):
            key = key * _FNV + rows[:, r]
        key ^= _BAND_SALT
    return tuple(key.view(np.int64).tolist())


def exact_key(norm: str) -> int:
    """One key for the whole text: short texts are copies only when equal."""
    data = norm.encode()
    value = (_EXACT << 48) ^ (zlib.crc32(data) << 16) ^ zlib.adler32(data)
    return value - (1 << 63) if value >= 1 << 63 else value


def fingerprint(norm: str) -> Fingerprint:
    """The fingerprint of a normalised text (see bot.alerts.dedup.normalize)."""
    words = len(norm.split())
    if words < MIN_WORDS:
        return Fingerprint(norm, words, np.empty(0, dtype=np.uint64), (exact_key(norm),) if norm else ())
    shingles = shingle_hashes(norm)
    return Fingerprint(norm, words, shingles, band_keys(shingles), frozenset(shingles.tolist()))
