"""Backups taken before a deploy: a fresh folder per deployment, a built-in SQLite backup, pruning.

Backup commands run with ``PRODGATE_BACKUP_DIR`` set to the deployment's folder; the step fails when
a command fails or the folder is still empty afterwards. PostgreSQL, for example::

    backup = ['pg_dump --format=custom --file="$PRODGATE_BACKUP_DIR/app.dump" "$DATABASE_URL"']
    rollback = ['pg_restore --clean --if-exists --dbname="$DATABASE_URL" "$PRODGATE_BACKUP_DIR/app.dump"']

SQLite files listed in ``sqlite_backup`` are copied with SQLite's online backup API
(``sqlite3.Connection.backup``): consistent even while the service writes, unlike a file copy.
That runs as a subprocess too (``python -m pytest_prodgate.deploy.backup sqlite SRC DIR``), so it is
bounded by the backup timeout and stopped by a signal like every other step.
"""

from __future__ import annotations

import argparse
import re
import shutil
import sqlite3
import sys
from collections.abc import Sequence
from pathlib import Path

__all__ = ["backup_sqlite", "folder_is_empty", "make_backup_dir", "prune_backups", "restore_sqlite"]

DEPLOYMENT_ID = re.compile(r"^\d{8}T\d{9}Z-[0-9a-f]{6}$")


def make_backup_dir(backups_dir: Path, deployment_id: str) -> Path:
    """A new, empty folder for this deployment's backup (never reuses one)."""
    folder = backups_dir / deployment_id
    folder.mkdir(parents=True, exist_ok=False)
    return folder


def folder_is_empty(folder: Path) -> bool:
    """True when ``folder`` holds no file at all (empty subfolders do not count)."""
    return not any(path.is_file() for path in folder.rglob("*"))


def backup_sqlite(database: Path, folder: Path) -> Path:
    """Copy ``database`` into ``folder`` with the online backup API; returns the copy's path."""
    if not database.is_file():
        raise FileNotFoundError(f"SQLite database {database} does not exist")
    destination = folder / database.name
    source = sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=30)
    try:
        copy = sqlite3.connect(destination)
        try:
            source.backup(copy, pages=1024)
        finally:
            copy.close()
    finally:
        source.close()
    return destination


def restore_sqlite(backup: Path, database: Path) -> None:
    """Write the backup ``backup`` over ``database`` with the backup API (safe while others have it open)."""
    source = sqlite3.connect(f"file:{backup}?mode=ro", uri=True)
    try:
        target = sqlite3.connect(database, timeout=30)
        try:
            source.backup(target)
        finally:
            target.close()
    finally:
        source.close()


def prune_backups(backups_dir: Path, keep: int, *, protect: str | None = None) -> list[Path]:
    """Delete all but the newest ``keep`` deployment folders (ids sort by start time); returns the removed."""
    if not backups_dir.is_dir():
        return []
    folders = sorted((p for p in backups_dir.iterdir() if p.is_dir() and DEPLOYMENT_ID.match(p.name)), reverse=True)
    removed = []
    for folder in folders[max(keep, 1) :]:
        if folder.name == protect:
            continue
        shutil.rmtree(folder, ignore_errors=True)
        removed.append(folder)
    return removed


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pytest_prodgate.deploy.backup")
    commands = parser.add_subparsers(dest="command", required=True)
    sqlite = commands.add_parser("sqlite", help="Back up a SQLite database file with the online backup API")
    sqlite.add_argument("database", type=Path)
    sqlite.add_argument("folder", type=Path)
    restore = commands.add_parser("restore-sqlite", help="Restore a SQLite database from a backup file")
    restore.add_argument("backup", type=Path)
    restore.add_argument("database", type=Path)
    args = parser.parse_args(argv)
    try:
        if args.command == "sqlite":
            copy = backup_sqlite(args.database, args.folder)
            print(f"backed up {args.database} to {copy} ({copy.stat().st_size} bytes)")
        else:
            restore_sqlite(args.backup, args.database)
            print(f"restored {args.database} from {args.backup}")
    except (OSError, sqlite3.Error) as exc:
        print(f"prodgate backup: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
