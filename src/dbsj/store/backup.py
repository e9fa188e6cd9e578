"""Backups of a store, and a checked restore.

A backup is one file: an uncompressed POSIX tar (``tar tf`` lists it) holding ``store.duckdb`` — the store's
bytes, copied after a checkpoint while this process holds DuckDB's write lock, so no other process can change
it meanwhile — and ``manifest.json``: format ``dbsj-backup/1``, when and from where it was taken, the schema
version, the SHA-256 and size of ``store.duckdb``, the ledger's entry count and head hash, and the row count
of every table. Before anything is written the store is read in full (every column of every table) and its
ledger chain verified: a damaged or tampered store is not backed up. The archive is written under a temporary
name, read back and checked against its manifest, and only then renamed to ``--out``.

Restore checks before it replaces anything: the manifest's format, the SHA-256 and size of the store bytes,
that the copy opens, that its ledger verifies and ends at the manifest's head, and that every table holds the
manifest's row count. It refuses to replace an existing store unless ``force`` is given, and never while
another process has it open; with ``force`` the current file (and its WAL) is kept as
``<db>.replaced-<time>``, never deleted. The restored store's ledger then gains one ``store.restored`` entry,
so the restore itself is on the record: every ledger head taken before the backup is still in the chain, and
any taken after it (records, publications of the lost period) is missing — which ``dbsj audit --anchor`` shows.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
from pathlib import Path
from typing import IO, Any

import attrs

from dbsj import clock
from dbsj.errors import InputError, StoreError, VerificationError

__all__ = ["BACKUP_FORMAT", "BackupManifest", "RestoreReport", "backup_store", "read_backup", "restore_store"]

BACKUP_FORMAT = "dbsj-backup/1"
_STORE_MEMBER = "store.duckdb"
_MANIFEST_MEMBER = "manifest.json"
_CHUNK = 1 << 20


@attrs.frozen(slots=True)
class BackupManifest:
    """What a backup holds and how to check it (``manifest.json`` inside the backup)."""

    format: str
    created_at: str
    source: str
    schema_version: int
    dbsj_version: str
    duckdb_version: str
    store_bytes: int
    store_sha256: str
    ledger_entries: int
    ledger_head: str
    tables: dict[str, int]

    def to_dict(self) -> dict[str, Any]:
        return attrs.asdict(self)


@attrs.frozen(slots=True)
class RestoreReport:
    """What :func:`restore_store` did: the store restored, the file kept aside (if any), the checked manifest."""

    db: str
    backup: str
    replaced: str | None
    manifest: BackupManifest
    ledger_entries: int
    ledger_head: str

    def to_dict(self) -> dict[str, Any]:
        d = attrs.asdict(self)
        d["manifest"] = self.manifest.to_dict()
        return d


class _Hashing(io.RawIOBase):
    """A reader that hashes what passes through it."""

    def __init__(self, fh: IO[bytes]) -> None:
        self._fh = fh
        self.sha = hashlib.sha256()
        self.size = 0

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:  # type: ignore[override]
        data = self._fh.read(n)
        self.sha.update(data)
        self.size += len(data)
        return data


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def _fsync(path: Path) -> None:
    with open(path, "rb") as fh:
        os.fsync(fh.fileno())
    try:
        fd = os.open(path.parent, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _table_counts(store) -> dict[str, int]:  # noqa: ANN001 - dbsj.Store
    """Row count of every table, read so that every column of every row is touched (DuckDB checks each
    block's checksum as it reads it, so damage anywhere in the data surfaces here)."""
    tables = [r[0] for r in store.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' AND table_type = 'BASE TABLE' "
        "ORDER BY table_name").fetchall()]
    counts: dict[str, int] = {}
    for t in tables:
        counts[t] = int(store.execute(f'SELECT count(*), bit_xor(hash(COLUMNS(*))) FROM "{t}"').fetchone()[0])
    return counts


def _temp_beside(final: Path) -> Path:
    from dbsj.store.outputs import TEMP_MARK

    return final.with_name(f".{final.name}{TEMP_MARK}{os.getpid()}")


def backup_store(db: str | os.PathLike[str], out: str | os.PathLike[str]) -> BackupManifest:
    """Write a checked backup of the store ``db`` to ``out`` (which must not exist); returns its manifest.

    :raises StoreError: the store is missing, locked, or damaged (nothing is written).
    :raises VerificationError: the store's ledger does not verify (nothing is written).
    :raises InputError: ``out`` exists or is the store itself.
    """
    import duckdb

    from dbsj import __version__
    from dbsj.store.ledger import Ledger
    from dbsj.store.store import Store

    db_p, out_p = Path(db), Path(out)
    if not db_p.exists():
        raise StoreError(f"存储文件不存在: {db_p}", f"store file not found: {db_p}", reason="missing", store=str(db_p),
                         hint_zh="检查 --db 路径", hint_en="check the --db path")
    if out_p.exists():
        raise InputError(f"备份文件已存在，拒绝覆盖: {out_p}", f"backup file exists, not overwritten: {out_p}",
                         hint_zh="换一个文件名", hint_en="choose another file name")
    if out_p.resolve() in (db_p.resolve(), Path(f"{db_p}.wal").resolve()):
        raise InputError("备份文件不能是存储文件本身", "the backup cannot be the store file itself")
    with Store(db_p) as store:
        try:
            counts = _table_counts(store)
        except duckdb.Error as exc:
            from dbsj.store.health import store_error

            err = store_error(exc, db_p)
            raise StoreError(err.zh + "；已损坏的存储不做备份", err.en + "; a damaged store is not backed up",
                             hint_zh=err.hint_zh, hint_en=err.hint_en, **err.context) from None
        ledger = Ledger(store)
        try:
            entries = ledger.verify()
        except VerificationError as exc:
            raise VerificationError(exc.zh + "；账本校验失败的存储不做备份", exc.en + "; a store whose ledger fails is not backed up",
                                    where=exc.where, hint_zh="用 dbsj audit 查明原因", hint_en="find the cause with dbsj audit",
                                    **exc.context) from None
        head = ledger.head()
        version = store.schema_version
        store.execute("CHECKPOINT")
        # The lock is held and nothing more is written: the file's bytes are the checkpointed store.
        size = db_p.stat().st_size
        created = clock.now().replace(microsecond=0)
        tmp = _temp_beside(out_p)
        out_p.parent.mkdir(parents=True, exist_ok=True)
        try:
            with tarfile.open(tmp, "w", format=tarfile.PAX_FORMAT) as tar, open(db_p, "rb") as src:
                info = tarfile.TarInfo(_STORE_MEMBER)
                info.size, info.mtime, info.mode = size, int(created.timestamp()), 0o600
                hashing = _Hashing(src)
                tar.addfile(info, hashing)
                if hashing.size != size:
                    raise StoreError(f"复制存储文件时其大小发生变化: {db_p}", f"the store changed size while being copied: {db_p}",
                                     reason="failed", store=str(db_p), hint_zh="重新执行备份", hint_en="run the backup again")
                manifest = BackupManifest(
                    format=BACKUP_FORMAT, created_at=created.isoformat(), source=str(db_p.resolve()),
                    schema_version=int(version), dbsj_version=__version__, duckdb_version=duckdb.__version__,
                    store_bytes=size, store_sha256=hashing.sha.hexdigest(), ledger_entries=int(entries),
                    ledger_head=head, tables=counts)
                body = json.dumps(manifest.to_dict(), ensure_ascii=False, indent=2, sort_keys=True).encode("utf-8")
                minfo = tarfile.TarInfo(_MANIFEST_MEMBER)
                minfo.size, minfo.mtime, minfo.mode = len(body), int(created.timestamp()), 0o600
                tar.addfile(minfo, io.BytesIO(body))
            if _sha256(db_p) != manifest.store_sha256:
                raise StoreError(f"复制存储文件时其内容发生变化: {db_p}", f"the store changed while being copied: {db_p}",
                                 reason="failed", store=str(db_p), hint_zh="重新执行备份", hint_en="run the backup again")
            _fsync(tmp)
            _check_archive(tmp, manifest)
            os.replace(tmp, out_p)
            _fsync(out_p)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
    return manifest


def _open_backup(path: Path) -> tarfile.TarFile:
    if not path.is_file():
        raise InputError(f"备份文件不存在: {path}", f"backup file not found: {path}", where=str(path))
    try:
        return tarfile.open(path, "r:")
    except (tarfile.TarError, OSError) as exc:
        raise InputError(f"不是 dbsj 备份文件，或备份已损坏（{exc}）", f"not a dbsj backup, or the backup is damaged ({exc})",
                         where=str(path), hint_zh="使用 dbsj backup 生成的备份文件", hint_en="use a file made by dbsj backup") from None


def _manifest_of(tar: tarfile.TarFile, path: Path) -> BackupManifest:
    def bad(zh: str, en: str) -> InputError:
        return InputError(f"不是 dbsj 备份文件，或备份已损坏: {zh}", f"not a dbsj backup, or the backup is damaged: {en}",
                          where=str(path), hint_zh="使用另一份备份", hint_en="use another backup")

    try:
        member = tar.getmember(_MANIFEST_MEMBER)
        fh = tar.extractfile(member)
        data = json.loads(fh.read(1 << 20).decode("utf-8")) if fh is not None else None
    except KeyError:
        raise bad("缺少 manifest.json（备份不完整？）", "manifest.json is missing (an incomplete backup?)") from None
    except (tarfile.TarError, OSError, ValueError, UnicodeDecodeError) as exc:
        raise bad(f"manifest.json 无法读取（{exc}）", f"manifest.json cannot be read ({exc})") from None
    if not isinstance(data, dict) or data.get("format") != BACKUP_FORMAT:
        found = data.get("format") if isinstance(data, dict) else None
        raise bad(f"格式为 {found!r}，应为 {BACKUP_FORMAT}", f"format is {found!r}, expected {BACKUP_FORMAT}")
    try:
        return BackupManifest(**{f.name: data[f.name] for f in attrs.fields(BackupManifest)})
    except (KeyError, TypeError) as exc:
        raise bad(f"manifest.json 缺少字段 {exc}", f"manifest.json lacks field {exc}") from None


def read_backup(path: str | os.PathLike[str]) -> BackupManifest:
    """The manifest of the backup at ``path`` (nothing is verified but its form; :func:`restore_store` verifies)."""
    p = Path(path)
    with _open_backup(p) as tar:
        return _manifest_of(tar, p)


def _extract_checked(tar: tarfile.TarFile, manifest: BackupManifest, dest: Path, path: Path) -> None:
    try:
        member = tar.getmember(_STORE_MEMBER)
        src = tar.extractfile(member)
    except (KeyError, tarfile.TarError, OSError):
        src = None
    if src is None:
        raise InputError("备份中没有存储文件（store.duckdb）", "the backup holds no store file (store.duckdb)", where=str(path),
                         hint_zh="使用另一份备份", hint_en="use another backup")
    from dbsj.store.health import store_error

    sha = hashlib.sha256()
    size = 0
    try:
        out = open(dest, "wb")
    except OSError as exc:
        raise store_error(exc, dest) from None
    with out:
        while True:
            try:
                chunk = src.read(_CHUNK)
            except (tarfile.TarError, OSError, EOFError) as exc:
                raise InputError(f"备份已损坏，无法读出存储文件（{exc}）", f"the backup is damaged: the store cannot be read ({exc})",
                                 where=str(path), hint_zh="使用另一份备份", hint_en="use another backup") from None
            if not chunk:
                break
            sha.update(chunk)
            size += len(chunk)
            try:
                out.write(chunk)
            except OSError as exc:
                raise store_error(exc, dest) from None
        try:
            out.flush()
            os.fsync(out.fileno())
        except OSError as exc:
            raise store_error(exc, dest) from None
    if size != manifest.store_bytes or sha.hexdigest() != manifest.store_sha256:
        raise InputError(
            f"备份已损坏: 存储文件的校验和不符（{size} 字节，SHA-256 {sha.hexdigest()[:16]}…；清单为 {manifest.store_bytes} 字节，"
            f"{manifest.store_sha256[:16]}…）",
            f"the backup is damaged: the store's checksum differs ({size} bytes, SHA-256 {sha.hexdigest()[:16]}…; the manifest "
            f"says {manifest.store_bytes} bytes, {manifest.store_sha256[:16]}…)",
            where=str(path), hint_zh="使用另一份备份", hint_en="use another backup")


def _check_archive(path: Path, manifest: BackupManifest) -> None:
    """Read a backup back and check it against ``manifest`` (the store bytes only)."""
    probe = path.with_name(path.name + ".check")
    try:
        with _open_backup(path) as tar:
            if _manifest_of(tar, path) != manifest:
                raise StoreError("写出的备份清单与预期不符", "the written backup's manifest differs from what was written",
                                 reason="failed", store=str(path), hint_zh="重新执行备份", hint_en="run the backup again")
            _extract_checked(tar, manifest, probe, path)
    finally:
        probe.unlink(missing_ok=True)


def _verify_copy(copy: Path, manifest: BackupManifest, backup: Path) -> None:
    from dbsj.store.ledger import Ledger
    from dbsj.store.store import Store

    def bad(zh: str, en: str) -> InputError:
        return InputError(f"备份校验失败: {zh}", f"the backup fails its check: {en}", where=str(backup),
                          hint_zh="使用另一份备份", hint_en="use another backup")

    try:
        with Store(copy, read_only=True) as store:
            try:
                entries = Ledger(store).verify()
            except VerificationError as exc:
                raise bad(f"账本不能通过校验（{exc.zh}）", f"its ledger does not verify ({exc.en})") from None
            head = Ledger(store).head()
            if entries != manifest.ledger_entries or head != manifest.ledger_head:
                raise bad(f"账本为 {entries} 条、链头 {head[:16]}…，清单为 {manifest.ledger_entries} 条、{manifest.ledger_head[:16]}…",
                          f"the ledger has {entries} entries, head {head[:16]}…; the manifest says "
                          f"{manifest.ledger_entries}, {manifest.ledger_head[:16]}…")
            counts = _table_counts(store)
    except StoreError as exc:
        raise bad(f"备份中的存储无法打开（{exc.zh}）", f"the store in the backup cannot be opened ({exc.en})") from None
    if counts != manifest.tables:
        diff = sorted(t for t in set(counts) | set(manifest.tables) if counts.get(t) != manifest.tables.get(t))
        raise bad(f"表的行数与清单不符: {', '.join(diff)}", f"table row counts differ from the manifest: {', '.join(diff)}")


def _held_by_another_process(path: Path) -> bool:
    """Whether another process holds DuckDB's lock on ``path`` (DuckDB locks the whole file with fcntl)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        return False
    try:
        fd = os.open(path, os.O_RDWR)
    except OSError:
        return False
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return True
    else:
        fcntl.lockf(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)


def restore_store(backup: str | os.PathLike[str], db: str | os.PathLike[str], *, force: bool = False) -> RestoreReport:
    """Restore the store ``db`` from ``backup`` after checking the backup in full.

    An existing ``db`` is replaced only with ``force=True`` and never while another process has it open; it is
    kept (with its WAL) as ``<db>.replaced-<time>``. The restored store's ledger gains a ``store.restored`` entry.

    :raises InputError: the backup is damaged, not a dbsj backup, or fails its checks; ``db`` exists and
        ``force`` is not given.
    :raises StoreError: ``db`` is in use by another process, or cannot be written.
    """
    from dbsj.store.ledger import Ledger
    from dbsj.store.store import Store

    b, d = Path(backup), Path(db)
    wal = Path(f"{d}.wal")
    exists = d.exists() or wal.exists()
    if exists and not force:
        raise InputError(f"存储文件 {d} 已存在；恢复不会覆盖现有存储", f"store {d} exists; restore does not overwrite a store",
                         hint_zh="确认要替换时加 --force（当前文件会改名保留为 .replaced-时间）",
                         hint_en="add --force to replace it (the current file is kept as .replaced-<time>)")
    if d.exists() and _held_by_another_process(d):
        raise StoreError(f"存储文件 {d} 正被另一个进程使用，不能替换", f"store {d} is in use by another process and cannot be replaced",
                         reason="locked", store=str(d), hint_zh="等待该进程结束后再恢复", hint_en="wait for that process to finish")
    with _open_backup(b) as tar:
        manifest = _manifest_of(tar, b)
        d.parent.mkdir(parents=True, exist_ok=True)
        tmp = _temp_beside(d)
        try:
            _extract_checked(tar, manifest, tmp, b)
            _verify_copy(tmp, manifest, b)
            replaced = None
            if exists:
                stamp = clock.now().strftime("%Y%m%dT%H%M%S")
                aside = d.with_name(f"{d.name}.replaced-{stamp}")
                n = 1
                while aside.exists() or Path(f"{aside}.wal").exists():
                    n += 1
                    aside = d.with_name(f"{d.name}.replaced-{stamp}-{n}")
                if d.exists():
                    os.replace(d, aside)
                # A WAL left beside the old file must never be replayed onto the restored one.
                if wal.exists():
                    os.replace(wal, Path(f"{aside}.wal"))
                replaced = str(aside)
            os.replace(tmp, d)
            _fsync(d)
        except BaseException:
            tmp.unlink(missing_ok=True)
            Path(f"{tmp}.wal").unlink(missing_ok=True)
            raise
    with Store(d) as store:
        with store.transaction():
            Ledger(store).append("store.restored", str(d), {
                "backup": b.name, "backup_sha256": manifest.store_sha256, "backup_created_at": manifest.created_at,
                "backup_ledger_head": manifest.ledger_head, "backup_ledger_entries": manifest.ledger_entries,
                "replaced": replaced})
        ledger = Ledger(store)
        entries, head = ledger.verify(), ledger.head()
    return RestoreReport(db=str(d), backup=str(b), replaced=replaced, manifest=manifest, ledger_entries=entries,
                         ledger_head=head)
