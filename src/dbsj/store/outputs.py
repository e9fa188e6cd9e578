"""Output files that appear only when the step that made them has committed in the store.

A step (a draw's reveal, a publication) writes every file under a temporary name in the file's own folder
(:meth:`StagedOutputs.open`), journals the pairs *temporary → final* in ``pending_outputs`` inside its store
transaction (:meth:`StagedOutputs.journal`), commits, and only then renames them (:meth:`StagedOutputs.publish`).
So a crash leaves either no final file and no store change (before the commit: the temporary files are
orphans, removed by :func:`sweep_temporaries`), or the whole step (after the commit: the journal is rolled
forward by :func:`roll_forward` the next time the store is opened for writing). A final file is never
half-written: it only ever comes into being by a rename of a complete, fsynced file.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from dbsj.errors import StoreError

if TYPE_CHECKING:
    from dbsj.store.store import Store

__all__ = ["StagedOutputs", "roll_forward", "sweep_temporaries", "TEMP_MARK"]

#: Every temporary output's name contains this mark: ``.<final name>.dbsj-tmp-<pid>``.
TEMP_MARK = ".dbsj-tmp-"


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


class StagedOutputs:
    """The files of one step, staged under temporary names until the store commits.

    Usage::

        staged = StagedOutputs(store, "draw.reveal")
        try:
            with staged.open(out / "T1.draw.json") as fh:
                fh.write(...)
            with store.transaction():
                ...                     # the step's rows and ledger entries
                staged.journal()        # in the same transaction
            staged.publish()            # after the commit
        except BaseException:
            staged.discard()            # nothing of the step remains
            raise
    """

    def __init__(self, store: Store, step: str) -> None:
        self.store = store
        self.step = step
        self._files: list[tuple[Path, Path]] = []  # (temporary, final)
        self._journalled = False

    @property
    def finals(self) -> list[Path]:
        return [final for _tmp, final in self._files]

    def temp_path(self, final: Path) -> Path:
        return final.with_name(f".{final.name}{TEMP_MARK}{os.getpid()}")

    @contextmanager
    def open(self, final: str | os.PathLike[str], mode: str = "w", *, encoding: str | None = "utf-8",
             newline: str | None = None) -> Iterator[IO[Any]]:
        """Open the temporary file of ``final`` for writing; it is flushed and fsynced on close."""
        final_p = Path(final)
        if final_p.exists() or any(f == final_p for _t, f in self._files):
            raise StoreError(f"文件已存在，拒绝覆盖: {final_p}", f"file already exists, not overwritten: {final_p}",
                             hint_zh="使用新的输出目录", hint_en="use a new output directory")
        final_p.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.temp_path(final_p)
        binary = "b" in mode
        fh = tmp.open(mode, **({} if binary else {"encoding": encoding, "newline": newline}))
        self._files.append((tmp, final_p))
        try:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        finally:
            fh.close()

    def add(self, final: str | os.PathLike[str], produce: Any) -> Path:
        """Stage a file that ``produce(temp_path)`` writes itself (e.g. an XLSX writer); returns ``final``."""
        final_p = Path(final)
        if final_p.exists() or any(f == final_p for _t, f in self._files):
            raise StoreError(f"文件已存在，拒绝覆盖: {final_p}", f"file already exists, not overwritten: {final_p}",
                             hint_zh="使用新的输出目录", hint_en="use a new output directory")
        final_p.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.temp_path(final_p)
        self._files.append((tmp, final_p))
        produce(tmp)
        with tmp.open("rb+") as fh:
            os.fsync(fh.fileno())
        return final_p

    def journal(self) -> None:
        """Record the pending renames; call inside the step's store transaction."""
        now = self.store.now()
        for tmp, final in self._files:
            self.store.execute("INSERT INTO pending_outputs VALUES (?, ?, ?, ?, ?)",
                               [self.step, str(tmp), str(final), _sha256_file(tmp), now])
        self._journalled = True

    def publish(self) -> list[Path]:
        """Rename every staged file to its final name (after the commit) and clear the journal."""
        folders = set()
        for tmp, final in self._files:
            _put_in_place(tmp, final)
            folders.add(final.parent)
        for folder in folders:
            _fsync_dir(folder)
        if self._journalled and self._files:
            self.store.execute("DELETE FROM pending_outputs WHERE temp_path IN (SELECT unnest(?::VARCHAR[]))",
                               [[str(t) for t, _f in self._files]])
        return self.finals

    def discard(self) -> None:
        """Remove the temporary files (the step failed before its commit)."""
        for tmp, _final in self._files:
            try:
                tmp.unlink()
            except FileNotFoundError:
                pass


def _put_in_place(tmp: Path, final: Path) -> None:
    if not tmp.exists():
        if final.exists():
            return  # already renamed (a roll-forward that was interrupted)
        raise StoreError(f"待落盘的文件丢失: {tmp}", f"staged output file is missing: {tmp}",
                         hint_zh="从存储重新导出该文件", hint_en="export the file again from the store")
    if final.exists():
        raise StoreError(f"文件已存在，拒绝覆盖: {final}", f"file already exists, not overwritten: {final}",
                         hint_zh="移走该文件后重新打开存储", hint_en="move that file away and open the store again")
    os.replace(tmp, final)


def roll_forward(store: Store) -> list[Path]:
    """Finish the renames of steps that committed but did not put their files in place (a crash)."""
    rows = store.execute("SELECT temp_path, final_path, sha256 FROM pending_outputs ORDER BY temp_path").fetchall()
    done: list[Path] = []
    for tmp_s, final_s, digest in rows:
        tmp, final = Path(tmp_s), Path(final_s)
        if tmp.exists() and _sha256_file(tmp) != digest:
            raise StoreError(f"待落盘的文件内容与存储记录不符: {tmp}", f"staged output file differs from its journal: {tmp}",
                             hint_zh="该文件可能被改动；从存储重新导出", hint_en="it may have been altered; export it again")
        _put_in_place(tmp, final)
        _fsync_dir(final.parent)
        store.execute("DELETE FROM pending_outputs WHERE temp_path = ?", [tmp_s])
        done.append(final)
    return done


def sweep_temporaries(folder: str | os.PathLike[str]) -> list[Path]:
    """Remove temporary outputs of steps that never committed (``.<name>.dbsj-tmp-<pid>`` in ``folder``)."""
    removed: list[Path] = []
    base = Path(folder)
    if not base.is_dir():
        return removed
    for p in sorted(base.iterdir()):
        if not (p.name.startswith(".") and TEMP_MARK in p.name and p.is_file()):
            continue
        pid_text = p.name.rsplit(TEMP_MARK, 1)[1]
        if pid_text.isdigit() and int(pid_text) != os.getpid() and _alive(int(pid_text)):
            continue  # another live process is staging it
        p.unlink()
        removed.append(p)
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
