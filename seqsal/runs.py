"""Output folders of seqsal runs: claiming one, its manifest, and marking it complete.

Every command that writes a folder goes through :class:`RunFolder`, so every
folder behaves the same way:

- **Claimed, never trampled.**  A new or empty folder is taken.  A folder with
  files but no seqsal manifest may be the user's own data and is refused.  A
  folder holding a different *kind* of seqsal run (an explain bundle given to
  ``simulate --out``) is refused.  A finished run of the same kind is replaced
  only when the new run rewrites every file the old one listed; otherwise
  (re-running ``explain`` with fewer methods would delete the others' arrays)
  it is refused unless ``force``, and the message names what would be lost.
- **Honest while running.**  The manifest is written with ``complete: false``
  before any other file, so a folder of an interrupted run says so.
- **Reproducible.**  The manifest records versions, the start and finish time,
  and the command line actually given (set by the CLI through
  :func:`invoked_as`, never read from ``sys.argv``).
"""

from __future__ import annotations

import json
import platform
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from seqsal import io
from seqsal.errors import SeqsalError, check

MANIFEST = "manifest.json"

_COMMAND: ContextVar[list[str] | None] = ContextVar("seqsal_command", default=None)


@contextmanager
def invoked_as(argv: Sequence[str]) -> Iterator[None]:
    """Record ``argv`` (without the program name) as the command of every run started inside."""
    token = _COMMAND.set(["seqsal", *argv])
    try:
        yield
    finally:
        _COMMAND.reset(token)


def current_command() -> list[str] | None:
    """The command line of the running CLI command (``None`` when called from Python)."""
    return _COMMAND.get()


def now() -> str:
    """The current UTC time, to the second, as manifests record it."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def manifest_header(kind: str) -> dict:
    """The fields every seqsal manifest opens with: what wrote it, with which versions, when, how called.

    ``complete`` starts false; :meth:`RunFolder.finish` sets it after the last
    file, so a folder from an interrupted run says so.
    """
    import torch  # imported here so that reading FASTA does not pay for torch

    from seqsal import __version__

    header = {
        "tool": "seqsal",
        "kind": kind,
        "complete": False,
        "seqsal_version": __version__,
        "torch_version": torch.__version__,
        "numpy_version": np.__version__,
        "python_version": platform.python_version(),
        "started": now(),
    }
    command = current_command()
    if command is not None:
        header["command"] = command
    return header


def read_manifest(folder: str | Path) -> dict:
    """Read a seqsal output folder's manifest, with a clear error when it is not one."""
    path = Path(folder) / MANIFEST
    check(path.is_file(), f"{folder}: no {MANIFEST}; this is not a seqsal output folder")
    manifest = _load_manifest(path)
    check(manifest is not None, f"{path}: not a seqsal manifest (unreadable JSON or written by another tool)")
    return manifest


def listed_files(files: Any) -> set[str]:
    """Every file name in a manifest's ``files`` entry (a name, or lists and dicts of names, nested)."""
    if isinstance(files, str):
        return {files}
    if isinstance(files, dict):
        files = files.values()
    if isinstance(files, (list, tuple, set)) or type(files).__name__ == "dict_values":
        return set().union(*(listed_files(item) for item in files)) if files else set()
    return set()


class RunFolder:
    """A folder one seqsal run owns, with its manifest.

    Make one with :meth:`claim` (a new run) or :meth:`reopen` (continue an
    interrupted one); then :meth:`start`, :meth:`save` as work progresses,
    and :meth:`finish` after the last file.
    """

    def __init__(self, path: Path, kind: str, previous: dict | None = None) -> None:
        self.path = path
        self.kind = kind
        self.previous = previous
        self.manifest: dict = {}

    @classmethod
    def claim(
        cls,
        path: str | Path,
        kind: str,
        *,
        writes: Iterable[str] | None = None,
        force: bool = False,
        resumable: bool = False,
        clear: Iterable[str] = (),
        option: str = "out",
    ) -> RunFolder:
        """Take ``path`` for a new run of ``kind``, refusing folders it must not write into.

        Parameters
        ----------
        path
            The output folder; created (with parents) if missing.
        kind
            The kind of run (``"explain"``, ``"audit"``, ...), recorded in the
            manifest and compared with an earlier run's.
        writes
            The file names this run will list in its manifest's ``files``.
            ``None`` means the kind always writes the same files, so a
            finished run of the same kind is always fully replaced.
        force
            Replace a finished run of the same kind even when this run would
            not rewrite all of its files.
        resumable
            The kind can continue an interrupted run (``--resume``); an
            unfinished run of it is then refused unless ``force``, so its work
            is not thrown away by accident.
        clear
            Glob patterns (relative to the folder) of files an earlier run of
            this kind may have left besides its listed files (logos, partial
            arrays); removed when the folder is taken over.
        option
            How the caller names the folder in messages (``"out"``, ``"--out"``).
        """
        folder = Path(path)
        previous = None
        if folder.exists():
            check(folder.is_dir(), f"{option} {folder} is a file; give a folder path")
            if any(folder.iterdir()):
                previous = _load_manifest(folder / MANIFEST)
                check(
                    previous is not None,
                    f"{option} {folder} already exists and was not made by seqsal; choose a new or empty folder",
                )
                _check_replaceable(folder, kind, previous, writes, force, resumable)
                _remove(folder, listed_files(previous.get("files", {})), clear)
        folder.mkdir(parents=True, exist_ok=True)
        return cls(folder, kind, previous)

    @classmethod
    def reopen(cls, path: str | Path, kind: str) -> RunFolder:
        """Open the folder of an interrupted run of ``kind`` to continue it (``--resume``)."""
        folder = Path(path)
        check((folder / MANIFEST).is_file(), f"--resume: {folder} holds no {kind} run to continue")
        previous = read_manifest(folder)
        check(previous.get("kind") == kind,
              f"--resume: {folder} holds a seqsal {previous.get('kind')} run, not a {kind} run")
        check(not previous.get("complete"), f"--resume: the {kind} run in {folder} already finished")
        return cls(folder, kind, previous)

    def start(self, fields: dict) -> dict:
        """Write the manifest with ``complete: false``: header first, then ``fields``; returns it."""
        self.manifest = {**manifest_header(self.kind), **fields}
        self.save()
        return self.manifest

    def save(self, **updates: Any) -> None:
        """Merge ``updates`` into the manifest and write it (progress counters, partial results)."""
        self.manifest.update(updates)
        io.write_json(self.path / MANIFEST, self.manifest)

    def finish(self, files: Any, **fields: Any) -> dict:
        """Record ``files`` and ``fields`` and mark the run complete; call after the last file is written."""
        self.save(**fields, files=files, complete=True, finished=now())
        return self.manifest


def _load_manifest(path: Path) -> dict | None:
    """The manifest at ``path`` if it is a readable seqsal manifest, else ``None``."""
    if not path.is_file():
        return None
    try:
        manifest = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None
    return manifest if isinstance(manifest, dict) and manifest.get("tool") == "seqsal" else None


def _check_replaceable(
    folder: Path, kind: str, previous: dict, writes: Iterable[str] | None, force: bool, resumable: bool
) -> None:
    """Refuse to take over ``folder`` when that would destroy work the user did not mean to replace."""
    earlier = previous.get("kind")
    if earlier != kind:
        raise SeqsalError(
            f"{folder} holds a seqsal {earlier} run; seqsal {kind} never writes over another kind of run, "
            "so choose a new folder"
        )
    if not previous.get("complete"):
        check(not resumable or force,
              f"{folder} holds an unfinished {kind} run; continue it with --resume, "
              "or replace it with --force")
        return
    if writes is None or force:
        return
    lost = sorted(listed_files(previous.get("files", {})) - set(writes))
    check(not lost,
          f"{folder} holds a finished {kind} run whose {', '.join(lost)} this run would not rewrite; "
          "use --force to replace that run (its files are deleted), or choose a new folder")


def _remove(folder: Path, names: Iterable[str], patterns: Iterable[str]) -> None:
    """Delete an earlier run's files inside ``folder`` (never outside it) and its manifest."""
    stale = {folder / name for name in names}
    for pattern in patterns:
        stale.update(folder.glob(pattern))
    stale.add(folder / MANIFEST)
    root = folder.resolve()
    for path in stale:
        if path.is_file() and root in path.resolve().parents:
            path.unlink()
