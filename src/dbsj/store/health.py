"""What can be wrong with a store file, said once and clearly: which file, what is wrong, what to do.

Two parts:

- :func:`check_store_file` looks at an existing file *before* DuckDB opens it: a regular, non-empty file
  that starts like a DuckDB database and holds every block its header counts as used (DuckDB may cut free
  blocks off the end of the file; the free list says which). DuckDB reads blocks only
  when it needs them, so a store truncated to half still opens and answers some queries; without this
  check a write that happened not to touch the missing half would commit and report success into a
  broken store. The check reads 12 KiB, and the free list too when the file is shorter than its header.
- :func:`store_error` turns any DuckDB error (on open or during use) or an ``OSError`` about the store into
  one :class:`~dbsj.errors.StoreError`, classified by ``reason``: ``locked``, ``damaged``, ``wal_damaged``,
  ``truncated``, ``not_a_store``, ``disk_full``, ``permission``, ``vanished``, ``missing``, ``failed``.

DuckDB checks a checksum on every block it reads, and on every WAL entry it replays, so flipped bytes
anywhere in a block that holds data surface as a ``Corrupt database file`` error the first time the block
is read. A flipped byte in a free block harms nothing and is not reported.
"""

from __future__ import annotations

import os
import re
import struct
from pathlib import Path

from dbsj.errors import StoreError

__all__ = ["check_store_file", "store_error", "RESTORE_HINT_ZH", "RESTORE_HINT_EN"]

RESTORE_HINT_ZH = "请从备份恢复: dbsj restore 备份文件 --db {path} --force；当前文件会改名保留，不会删除"
RESTORE_HINT_EN = "restore it from a backup: dbsj restore BACKUP --db {path} --force; the current file is kept under a new name"

# The DuckDB storage format since 0.10: a 4 KiB main header ("DUCK" at byte 8), two 4 KiB database headers
# (the one with the higher iteration is current), then blocks of ``block_alloc_size`` bytes.
_MAGIC_AT = 8
_HEADER_BYTES = 3 * 4096
_DB_HEADER = struct.Struct("<QQqqQQ")  # checksum, iteration, meta block, free list, block count, block size


def _lit(path: Path, zh: str, en: str, reason: str, hint_zh: str | None, hint_en: str | None, **ctx: object) -> StoreError:
    return StoreError(f"存储文件 {path} {zh}", f"store {path} {en}", hint_zh=hint_zh, hint_en=hint_en,
                      reason=reason, store=str(path), **ctx)


def _restore(path: Path) -> tuple[str, str]:
    return RESTORE_HINT_ZH.format(path=path), RESTORE_HINT_EN.format(path=path)


def _what_it_is(head: bytes) -> tuple[str, str]:
    if head.startswith(b"SQLite format 3\x00"):
        return "SQLite 数据库", "an SQLite database"
    if head.startswith(b"PK\x03\x04"):
        return "压缩文件（zip/xlsx）", "a zip archive (zip/xlsx)"
    if head.startswith(b"%PDF"):
        return "PDF 文件", "a PDF file"
    if head.startswith(b"ustar", 257):
        return "tar 归档（dbsj 备份请用 dbsj restore 恢复）", "a tar archive (restore a dbsj backup with dbsj restore)"
    sample = head[:512]
    if sample and all(b in b"\t\r\n" or 32 <= b < 127 or b >= 128 for b in sample):
        return "文本文件", "a text file"
    return "未知格式的文件", "a file of unknown format"


def check_store_file(path: Path) -> None:
    """Refuse an existing ``path`` that cannot be a whole DuckDB store (a missing path is not checked)."""
    try:
        st = path.stat()
    except FileNotFoundError:
        return
    except OSError as exc:
        raise store_error(exc, path) from None
    import stat as _stat

    if not _stat.S_ISREG(st.st_mode):
        raise _lit(path, "不是普通文件（目录、设备或管道）", "is not a regular file (a directory, device or pipe)",
                   "not_a_store", "请用 --db 指定存储文件", "name the store file with --db")
    size = st.st_size
    if size == 0:
        raise _lit(path, "是空文件（0 字节），不是 dbsj 存储；若原本是存储，则已被截断",
                   "is empty (0 bytes): not a dbsj store, or a store truncated to nothing",
                   "truncated", *_restore(path), size=0)
    try:
        with open(path, "rb") as fh:
            head = fh.read(_HEADER_BYTES)
    except OSError as exc:
        raise store_error(exc, path) from None
    if head[_MAGIC_AT:_MAGIC_AT + 4] != b"DUCK":
        if size < _MAGIC_AT + 4:
            raise _lit(path, f"只有 {size} 字节，不是完整的 DuckDB 数据库（已被截断？）",
                       f"is only {size} bytes: not a whole DuckDB database (truncated?)",
                       "truncated", *_restore(path), size=size)
        zh, en = _what_it_is(head)
        raise _lit(path, f"不是 DuckDB 数据库，而是{zh}", f"is not a DuckDB database but {en}", "not_a_store",
                   "请用 --db 指定 dbsj 存储文件；若该文件原本是存储，则已损坏，" + RESTORE_HINT_ZH.format(path=path),
                   "name the dbsj store with --db; if this file was the store, it is damaged: "
                   + RESTORE_HINT_EN.format(path=path))
    if size < _HEADER_BYTES:
        raise _lit(path, f"只有 {size} 字节，短于 DuckDB 文件头（{_HEADER_BYTES} 字节）：文件已被截断",
                   f"is only {size} bytes, shorter than a DuckDB header ({_HEADER_BYTES} bytes): the file is truncated",
                   "truncated", *_restore(path), size=size)
    expected = _expected_size(head)
    if expected is not None and size < expected and not _only_free_blocks_missing(path, head, size):
        raise _lit(path, f"只有 {size} 字节，而其文件头记录的数据块需要至少 {expected} 字节：文件已被截断，部分数据丢失",
                   f"is {size} bytes but its header describes blocks needing at least {expected} bytes: "
                   "the file is truncated and part of the data is missing",
                   "truncated", *_restore(path), size=size, expected_size=expected)


def _current_header(head: bytes) -> tuple[int, int, int] | None:
    """``(free list pointer, block count, block size)`` of the current database header, or ``None`` when
    neither header is plausible (DuckDB then judges the file itself)."""
    best: tuple[int, int, int, int] | None = None
    for offset in (4096, 8192):
        _checksum, iteration, _meta, free, blocks, block_size = _DB_HEADER.unpack_from(head, offset)
        plausible = (block_size and block_size & (block_size - 1) == 0 and 4096 <= block_size <= 1 << 30
                     and blocks < 1 << 40)
        if plausible and (best is None or iteration > best[0]):
            best = (iteration, free, blocks, block_size)
    return best[1:] if best else None


def _expected_size(head: bytes) -> int | None:
    """Bytes the current database header's blocks occupy (its high-water mark), or ``None``."""
    current = _current_header(head)
    return None if current is None else _HEADER_BYTES + current[1] * current[2]


# The header's block count is a high-water mark: when a checkpoint frees the blocks at the end of the file
# (a table dropped, rows deleted, a redraw superseding a large draw), DuckDB truncates the file to its last
# used block and keeps the count. So a file shorter than its header is honest exactly when every block past
# its end is on the header's free list. The free list is stored in 64 metadata sub-blocks per block; each
# sub-block starts with the pointer (sub-block index in the top byte, block id below) to the next one.
_BLOCK_CHECKSUM = 8
_NO_NEXT = (1 << 64) - 1
_FREE_LIST_LIMIT = 1 << 26  # ids; far above any store's block count


def _only_free_blocks_missing(path: Path, head: bytes, size: int) -> bool:
    """True when every block the header counts beyond the end of the file is free (an honest, truncated-by-
    DuckDB store); False when a used block is missing, or the free list cannot be read whole."""
    current = _current_header(head)
    if current is None:
        return True
    free_pointer, blocks, block_size = current
    present = (size - _HEADER_BYTES) // block_size  # a partial last block counts as missing
    missing = set(range(present, blocks))
    sub_size = (block_size - _BLOCK_CHECKSUM) // 64 // 8 * 8
    try:
        with open(path, "rb") as fh:
            def sub_block(pointer: int) -> bytes:
                block, index = pointer & ((1 << 56) - 1), pointer >> 56
                if block >= present or index >= 64:
                    raise ValueError("free list outside the file")
                fh.seek(_HEADER_BYTES + block * block_size + _BLOCK_CHECKSUM + index * sub_size)
                data = fh.read(sub_size)
                if len(data) != sub_size:
                    raise ValueError("short read")
                return data

            if free_pointer == _NO_NEXT or free_pointer < 0:
                return not missing
            buffer, pos, seen = sub_block(free_pointer), 8, 1

            def read_u64() -> int:
                nonlocal buffer, pos, seen
                if pos + 8 > len(buffer):
                    (nxt,) = struct.unpack_from("<Q", buffer, 0)
                    seen += 1
                    if nxt == _NO_NEXT or seen > blocks * 64 + 1:
                        raise ValueError("free list ends early")
                    buffer, pos = sub_block(nxt), 8
                (value,) = struct.unpack_from("<Q", buffer, pos)
                pos += 8
                return value

            count = read_u64()
            if count > min(blocks, _FREE_LIST_LIMIT):
                return False
            for _ in range(count):
                missing.discard(read_u64())
                if not missing:
                    return True
    except (OSError, ValueError, struct.error):
        return False
    return not missing


# -- classification of errors ---------------------------------------------------------------------

_DISK_FULL = ("no space left on device", "file too large", "disk quota exceeded", "not enough space")
_PERMISSION = ("permission denied", "read-only file system", "operation not permitted")
_WAL = ("corrupt wal", "replaying wal", "wal file")
_DAMAGED = ("corrupt database file", "checksum", "not a valid duckdb database", "could not read enough bytes",
            "database file is corrupted", "failed to deserialize", "deserializ", "leb128", "data may be corrupt",
            "invalid block", "invalid metadata", "has been invalidated", "fatal error", "internal error",
            "serialization error", "unexpected end of file", "corrupt")
_LOCKED = ("could not set lock", "conflicting lock", "lock on file")


def _classify(message: str, exc: BaseException) -> str:
    m = message.lower()
    if any(k in m for k in _LOCKED):
        return "locked"
    if any(k in m for k in _DISK_FULL):
        return "disk_full"
    if isinstance(exc, OSError):
        import errno

        if exc.errno in (errno.ENOSPC, errno.EFBIG, errno.EDQUOT):
            return "disk_full"
        if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
            return "permission"
        if exc.errno == errno.ENOENT:
            return "missing"
        return "failed"
    if any(k in m for k in _PERMISSION):
        return "permission"
    if any(k in m for k in _WAL):
        return "wal_damaged"
    if "database does not exist" in m:
        return "missing"
    if any(k in m for k in _DAMAGED):
        return "damaged"
    try:
        import duckdb

        if isinstance(exc, (duckdb.InternalException, duckdb.FatalException, duckdb.SerializationException)):
            return "damaged"
    except ImportError:  # pragma: no cover - duckdb is a dependency
        pass
    return "failed"


_QUOTED_PATH = re.compile(r'"(/[^"]+)"')


def store_error(exc: BaseException, path: str | os.PathLike[str] | None, *, during: str | None = None) -> StoreError:
    """One clear :class:`StoreError` for a DuckDB error or an ``OSError`` about the store at ``path``.

    ``during`` names what was going on (``open``, ``commit``, ``checkpoint``) when that matters to the
    advice: a failed commit changed nothing; a failed checkpoint left the committed changes in the WAL.
    """
    if isinstance(exc, StoreError):
        return exc
    message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    named = _QUOTED_PATH.search(str(exc))
    where = Path(path) if path is not None else (Path(named.group(1)) if named else Path("(store)"))
    if isinstance(exc, OSError) and exc.filename and path is None:
        where = Path(exc.filename)
    reason = _classify(message, exc)
    detail = message if len(message) <= 400 else message[:400] + "…"
    wal = f"{where}.wal"
    ctx = {"detail": detail, "during": during}
    if reason == "locked":
        return _lit(where, "正被另一个进程写入（DuckDB 只允许一个写进程）",
                    "is locked by another process (DuckDB allows one writing process)", reason,
                    "等待该进程结束，或使用 --db 指定另一个文件", "wait for that process to finish, or use --db for another file", **ctx)
    if reason == "disk_full":
        if during == "checkpoint":
            return _lit(where, f"无法完成检查点：磁盘空间不足（{detail}）。本次更改已提交并保存在预写日志 {wal} 中",
                        f"could not be checkpointed, the disk is full ({detail}); the committed changes are kept "
                        f"in the write-ahead log {wal}", reason,
                        "释放磁盘空间后再打开存储即可完成写入；不要删除 .wal 文件",
                        "free disk space and open the store again to finish; do not delete the .wal file", **ctx)
        return _lit(where, f"写入失败：磁盘空间不足或超过文件大小限制（{detail}）。本步骤未保存任何更改",
                    f"cannot be written: the disk is full or a file size limit was hit ({detail}); "
                    "this step saved nothing", reason,
                    "释放磁盘空间后重新执行该命令", "free disk space and run the command again", **ctx)
    if reason == "permission":
        return _lit(where, f"无法写入：没有权限或文件系统只读（{detail}）。本步骤未保存任何更改",
                    f"cannot be written: permission denied or a read-only file system ({detail}); this step saved nothing",
                    reason, "检查文件及其目录的写权限，或用 --db 指定可写的副本",
                    "check write permission on the file and its folder, or use --db for a writable copy", **ctx)
    if reason == "missing":
        return _lit(where, "不存在", "does not exist", reason,
                    "检查 --db 路径；先用 dbsj pool import 或 dbsj demo 建库",
                    "check the --db path; create a store with dbsj pool import or dbsj demo", **ctx)
    if reason == "wal_damaged":
        zh, en = _restore(where)
        return _lit(where, f"的预写日志 {wal} 已损坏，无法重放（{detail}）",
                    f"has a damaged write-ahead log {wal} that cannot be replayed ({detail})", reason,
                    zh + f"；或将 {wal} 移走，以最后一个检查点的状态打开（日志中的更改将丢失）",
                    en + f"; or move {wal} away to open the store as of its last checkpoint (the changes in the log are lost)",
                    **ctx)
    if reason == "damaged":
        zh, en = _restore(where)
        return _lit(where, f"已损坏（{detail}）。本步骤未保存任何更改", f"is damaged ({detail}); this step saved nothing",
                    reason, zh, en, **ctx)
    zh, en = _restore(where)
    return _lit(where, f"操作失败（{detail}）", f"could not complete an operation ({detail})", reason,
                "用 dbsj ledger verify 检查存储；若反复出现，" + zh,
                "check the store with dbsj ledger verify; if this persists, " + en, **ctx)
