"""Online backup and restore of the SQLite database with SQLite's backup API.

The copy is taken inside one read transaction on the source, so it is a consistent snapshot even while
`telewatch run` keeps writing (WAL lets the writer go on); it is written to a `.partial` file beside the
destination and renamed into place only once complete and verified with PRAGMA integrity_check.

Temporary files get unique names (mkstemp in the destination's folder) and only files this run created
are ever removed. A restore moves aside any -wal/-shm/-journal left at the destination without their
database (SQLite would otherwise merge a stranger's WAL into the restored file) and verifies the copy
before it takes the destination's name, so a mismatching copy never stays there.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from bot.domain.errors import StorageError
from storage.db import LATEST_VERSION, check_archive, storage_error

# Tables whose row counts a backup and a restore report and compare.
COUNTED = ("channels", "posts", "post_versions", "matches", "alerts")
STEP_PAGES = 1024  # pages copied per step: a progress tick every few MiB
SIDECARS = ("-wal", "-shm", "-journal")  # files SQLite keeps beside a database and reads on open

Progress = Callable[[int, int], None]  # (pages done, pages total)


@dataclass(frozen=True, slots=True)
class CopyResult:
    """What a backup or restore did: where to, how big, how long, and the row counts on both sides."""

    path: Path
    bytes: int
    seconds: float
    source_counts: dict[str, int]
    copy_counts: dict[str, int]
    integrity: str
    verify_seconds: float = 0.0
    set_aside: Path | None = None  # restore: where the database it replaced was moved
    stale_moved: tuple[tuple[Path, Path], ...] = ()  # restore: stray -wal/-shm/-journal (from, to)
    extra: dict[str, object] = field(default_factory=dict)

    @property
    def consistent(self) -> bool:
        return self.integrity == "ok" and self.source_counts == self.copy_counts


def default_backup_name(now: datetime | None = None, n: int = 0) -> str:
    """telewatch-20240806-101500.db (then -1, -2 ... in the same second): the name in a folder."""
    stamp = (now or datetime.now(UTC)).strftime("telewatch-%Y%m%d-%H%M%S")
    return f"{stamp}.db" if n == 0 else f"{stamp}-{n}.db"


def backup(source: Path, dest: Path, *, progress: Progress | None = None) -> CopyResult:
    """Copy the database at `source` to `dest` (a new file, or a folder to put a dated file in)."""
    folder = dest.is_dir()
    now = datetime.now(UTC)
    if folder:
        dest = _free_name(dest, now)
    if dest.exists():
        raise StorageError(
            f"{dest} already exists; a backup never overwrites a file",
            hint="give a new file name, or a folder to write a dated backup into",
        )
    if _same_file(source, dest):
        raise StorageError(f"{dest} is the database itself", hint="back up to another file")
    src = _open_source(source)
    try:
        started = time.perf_counter()
        # One read transaction for the whole copy: every step sees the same snapshot, so the backup
        # never restarts however busy the writer is, and the counts below match the copy exactly.
        src.execute("BEGIN")
        source_counts = _counts(src, source)
        partial = _copy(src, dest, progress=progress, label=source)
        src.execute("COMMIT")
        seconds = time.perf_counter() - started
    finally:
        src.close()
    try:
        while True:
            try:
                _place(partial, dest)
                break
            except FileExistsError:
                if not folder:
                    raise StorageError(
                        f"{dest} already exists; a backup never overwrites a file",
                        hint="give a new file name, or a folder to write a dated backup into",
                    ) from None
                dest = _free_name(dest.parent, now)  # another backup took the name meanwhile
    finally:
        _remove_ours(partial)
    integrity, verify_seconds, copy_counts = _verify(dest)
    return CopyResult(
        dest, dest.stat().st_size, seconds, source_counts, copy_counts, integrity, verify_seconds
    )


def _free_name(folder: Path, now: datetime) -> Path:
    n = 0
    while (folder / default_backup_name(now, n)).exists():
        n += 1
    return folder / default_backup_name(now, n)


def check_backup(path: Path) -> tuple[int, dict[str, int]]:
    """Refuse (StorageError) a file that is not an intact telewatch database; its schema version and counts."""
    if not path.is_file():
        raise StorageError(f"no backup file at {path}", hint="give the path `telewatch backup` wrote")
    conn = _connect(f"{path.resolve().as_uri()}?mode=ro", path)
    try:
        try:
            version = int(conn.execute("PRAGMA user_version").fetchone()[0])
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            if version < 1 or not {"posts", "channels", "alerts"} <= tables:
                raise StorageError(
                    f"{path} is not a telewatch database", hint="give a file written by `telewatch backup`"
                )
            if version > LATEST_VERSION:
                raise StorageError(
                    f"{path} has schema version {version}, newer than this telewatch ({LATEST_VERSION})",
                    hint="restore it with the telewatch version that wrote it, or upgrade telewatch",
                )
            problems = [r[0] for r in conn.execute("PRAGMA integrity_check(5)")]
            if problems != ["ok"]:
                raise StorageError(
                    f"{path} is damaged: {problems[0]}",
                    hint="restore an older backup; the damaged file was left as it is",
                )
            return version, _counts(conn, path)
        except sqlite3.DatabaseError as e:
            if isinstance(e, sqlite3.Error) and "not a database" in str(e):
                raise StorageError(
                    f"{path} is not a telewatch database ({e})",
                    hint="give a file written by `telewatch backup`",
                ) from e
            raise storage_error(e, path) from e
    finally:
        conn.close()


def restore(
    backup_file: Path, target: Path, *, replace: bool = False, progress: Progress | None = None
) -> CopyResult:
    """Make `target` a copy of `backup_file`. An existing target is kept, renamed aside, never deleted."""
    _version, backup_counts = check_backup(backup_file)
    if _same_file(backup_file, target):
        raise StorageError(f"{backup_file} is the database itself", hint="restore from another file")
    if target.exists() and not replace:
        raise StorageError(
            f"{target} already exists",
            hint="pass --replace to move it aside (it is kept as a .before-restore file) and restore",
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    src = _open_source(backup_file, read_only=True)
    try:
        partial = _copy(src, target, progress=progress, label=backup_file)
    finally:
        src.close()
    aside: Path | None = None
    moved: list[tuple[Path, Path]] = []
    try:
        # Verified before it takes the target's name: a copy that does not match never replaces anything.
        integrity, _s, partial_counts = _verify(partial)
        if integrity != "ok" or partial_counts != backup_counts:
            raise StorageError(
                f"the copy of {backup_file} does not match it (integrity: {integrity})",
                hint="check the disk; nothing was changed at " + str(target),
            )
        if target.exists():
            aside = _set_aside(target)
        # A -wal/-shm/-journal still beside the target belongs to no database we keep: SQLite would
        # read it into the restored file on the first open. It is moved aside, never deleted.
        moved = _move_stale_sidecars(target)
        _place(partial, target)
    except FileExistsError:
        raise StorageError(
            f"{target} appeared while restoring; it was left as it is",
            hint="check what else writes there, then restore again",
        ) from None
    finally:
        _remove_ours(partial)
    conn = _connect(str(target), target)
    try:
        conn.execute("PRAGMA journal_mode=WAL")  # as telewatch runs it
    finally:
        conn.close()
    seconds = time.perf_counter() - started
    integrity, verify_seconds, restored_counts = _verify(target)
    if integrity != "ok" or restored_counts != backup_counts:
        # Something changed the file as it was opened: never leave a mixed file at the destination.
        failed = _unique(target.with_name(f"{target.name}.restore-failed-{_stamp()}"))
        os.replace(target, failed)
        for suffix in SIDECARS:
            side = target.with_name(target.name + suffix)
            if side.exists():
                os.replace(side, failed.with_name(failed.name + suffix))
        back = ""
        if aside is not None:
            os.replace(aside, target)
            back = f"; the previous database is back at {target}"
        raise StorageError(
            f"the restored database did not match {backup_file} (integrity: {integrity}); "
            f"it was moved to {failed}{back}",
            hint="check the disk and the folder " + str(target.parent),
        )
    return CopyResult(
        target,
        target.stat().st_size,
        seconds,
        backup_counts,
        restored_counts,
        integrity,
        verify_seconds,
        set_aside=aside,
        stale_moved=tuple(moved),
    )


def _copy(
    src: sqlite3.Connection,
    dest: Path,
    *,
    progress: Progress | None,
    label: Path,
) -> Path:
    """Copy `src` into a new single-file database beside `dest` with a unique name; returns that name."""
    try:
        fd, name = tempfile.mkstemp(dir=dest.parent, prefix=f"{dest.name}.", suffix=".partial")
    except OSError as e:
        raise StorageError(
            f"cannot write in {dest.parent}: {e.strerror or e}",
            hint="check the folder exists and is writable, and that the disk has space",
        ) from e
    os.close(fd)
    partial = Path(name)
    try:
        try:
            dst = sqlite3.connect(partial, isolation_level=None)
        except sqlite3.Error as e:
            raise storage_error(e, dest) from e
        try:

            def step(_status: int, remaining: int, total: int) -> None:
                if progress is not None:
                    progress(total - remaining, total)

            src.backup(dst, pages=STEP_PAGES, progress=step)
            dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
        except sqlite3.Error as e:
            dst.close()
            if "full" in str(e).lower() or (getattr(e, "sqlite_errorcode", 0) or 0) & 0xFF == 13:
                raise StorageError(
                    f"cannot write the copy {dest}: the disk is full",
                    hint="free space there or choose another disk; the partial copy was removed",
                ) from e
            raise storage_error(e, dest) from e
        dst.close()
    except BaseException:
        _remove_ours(partial)
        raise
    return partial


def _place(partial: Path, dest: Path) -> None:
    """Give `partial` the name `dest`, never replacing a file there (FileExistsError if one appeared)."""
    try:
        os.link(partial, dest)  # fails if dest exists: never overwrites
    except FileExistsError:
        raise
    except OSError:
        if dest.exists():  # a file system without hard links: check, then rename
            raise FileExistsError(str(dest)) from None
        os.replace(partial, dest)
        return
    partial.unlink()


def _verify(path: Path) -> tuple[str, float, dict[str, int]]:
    started = time.perf_counter()
    conn = _connect(f"{path.resolve().as_uri()}?mode=ro", path)
    try:
        result = [r[0] for r in conn.execute("PRAGMA integrity_check(5)")]
        counts = _counts(conn, path)
    finally:
        conn.close()
    return ("ok" if result == ["ok"] else "; ".join(result)), time.perf_counter() - started, counts


def _counts(conn: sqlite3.Connection, path: Path) -> dict[str, int]:
    try:
        return {t: int(conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]) for t in COUNTED}
    except sqlite3.Error as e:
        raise storage_error(e, path) from e


def _open_source(path: Path, *, read_only: bool = False) -> sqlite3.Connection:
    check_archive(path)
    # mode=ro when asked (a backup file being restored); otherwise a normal connection that only reads,
    # so a live WAL database is read through its -shm like any other reader.
    uri = path.resolve().as_uri() + ("?mode=ro" if read_only else "")
    conn = _connect(uri, path)
    try:
        conn.execute("PRAGMA busy_timeout=10000")
        conn.execute("PRAGMA query_only=ON")
        version = int(conn.execute("PRAGMA user_version").fetchone()[0])
    except sqlite3.DatabaseError as e:
        conn.close()
        raise storage_error(e, path) from e
    if version < 1:
        conn.close()
        raise StorageError(f"{path} is not a telewatch database", hint="check --db / [storage] path")
    return conn


def _connect(target: str, path: Path) -> sqlite3.Connection:
    try:
        return sqlite3.connect(target, uri=target.startswith("file:"), isolation_level=None)
    except sqlite3.Error as e:
        raise storage_error(e, path) from e


def _stamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%d-%H%M%S")


def _unique(path: Path) -> Path:
    candidate, n = path, 1
    while candidate.exists() or any(candidate.with_name(candidate.name + s).exists() for s in SIDECARS):
        candidate = path.with_name(f"{path.name}-{n}")
        n += 1
    return candidate


def _set_aside(target: Path) -> Path:
    """Fold the target's WAL into it and rename it (and its own side files) to a dated .before-restore name."""
    conn = _connect(str(target), target)
    try:
        conn.execute("PRAGMA busy_timeout=10000")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.execute("PRAGMA journal_mode=DELETE")  # removes the -wal, so the renamed file is whole
    except sqlite3.DatabaseError:
        pass  # a damaged database is set aside as it is
    finally:
        conn.close()
    aside = _unique(target.with_name(f"{target.name}.before-restore-{_stamp()}"))
    os.replace(target, aside)
    for suffix in SIDECARS:
        side = target.with_name(target.name + suffix)
        if side.exists():
            os.replace(side, aside.with_name(aside.name + suffix))
    return aside


def _move_stale_sidecars(target: Path) -> list[tuple[Path, Path]]:
    """Move -wal/-shm/-journal files found beside a missing database to NAME-wal.stale-DATE names."""
    moved: list[tuple[Path, Path]] = []
    stamp = _stamp()
    for suffix in SIDECARS:
        side = target.with_name(target.name + suffix)
        if not side.exists():
            continue
        to = _unique(side.with_name(f"{side.name}.stale-{stamp}"))
        try:
            os.replace(side, to)
        except OSError as e:
            raise StorageError(
                f"{side} is left from another database and cannot be moved aside ({e.strerror or e})",
                hint="move or remove it yourself, then restore again; nothing was changed",
            ) from e
        moved.append((side, to))
    return moved


def _remove_ours(path: Path) -> None:
    """Remove a temporary file this run created (callers pass only such paths) and its journal."""
    for p in (path, path.with_name(path.name + "-journal")):
        with contextlib.suppress(FileNotFoundError):
            p.unlink()


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve() or (b.exists() and os.path.samefile(a, b))
    except OSError:
        return False
