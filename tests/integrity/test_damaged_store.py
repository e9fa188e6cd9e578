"""A damaged store gives one clear error — which file, what is wrong, what to do — and exit 2; nothing is
reported done that did not persist; a backup restores it, checked.

The damage is real: bytes flipped across every block of a real store file, the file truncated to many
lengths, a damaged WAL left by a process killed with SIGKILL, files that are not DuckDB databases, a
read-only file system, a file deleted or replaced while open, a full disk (a small tmpfs in a private mount
namespace where the machine allows it, and a file size limit everywhere). Every command runs through the
real CLI entry point in a separate process, so a crash of DuckDB itself would fail the test too.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import dbsj
from pooldata import uscc

BLOCK = 262_144
HEADER = 12_288
ENV = {**os.environ, "DBSJ_NOW": "2023-06-01T09:00:00", "PYTHONUNBUFFERED": "1"}
ENV.pop("DBSJ_FAILPOINTS", None)
DBSJ = str(Path(sys.executable).with_name("dbsj"))  # the console script, as an operator runs it


def _items_csv(path: Path, start: int, n: int) -> Path:
    lines = ["事项编码,事项名称,检查主体部门,事项类别"] + [f"T-{i:05d},检查事项{i},市场监管,一般" for i in range(start, start + n)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _build(path: Path, work: Path) -> None:
    """A small real store: pools imported through intake, a ledger of 40 entries, several blocks on disk."""
    import pyarrow as pa

    with dbsj.Store(path) as store:
        dbsj.import_pool(store, "items", _items_csv(work / "items0.csv", 0, 40), quarantine_dir=work)
        n = 6000
        targets = pa.table({
            "uscc": [uscc(i) for i in range(n)], "name": [f"企业{i}" for i in range(n)],
            "entity_kind": ["企业"] * n, "status": ["存续"] * n, "region": ["650102"] * n,
            "credit_class": ["ABCD"[i % 4] for i in range(n)], "tags": ["食品|重点"] * n,
        })
        dbsj.import_batches(store, "targets", targets, source="test", quarantine_dir=work)
        for i in range(40):
            with store.transaction():
                dbsj.Ledger(store).append("test.event", f"s{i}", {"i": i, "text": "抽查" * 50})


@pytest.fixture(scope="module")
def good(tmp_path_factory):
    work = tmp_path_factory.mktemp("damaged-store")
    path = work / "good.duckdb"
    _build(path, work)
    assert not Path(f"{path}.wal").exists()
    export = work / "good-targets.csv"
    assert _cli("pool", "export", "targets", "--out", str(export), "--db", str(path)).returncode == 0
    with dbsj.Store(path, read_only=True) as s:
        # Where the targets' name column lives on disk: a byte there is read only when names are read.
        block, offset = s.execute("SELECT block_id, block_offset FROM pragma_storage_info('targets') "
                                  "WHERE column_name = 'name' AND block_id >= 0 ORDER BY row_group_id DESC LIMIT 1").fetchone()
        entries = dbsj.Ledger(s).verify()
    return {"path": path, "entries": entries, "work": work, "bytes": path.read_bytes(), "export": export.read_bytes(),
            "names_at": HEADER + block * BLOCK + offset + 64,
            "new_items": _items_csv(work / "items-new.csv", 1000, 5)}


def _cli(*args: str, env: dict[str, str] | None = None, **kw) -> subprocess.CompletedProcess[str]:
    return subprocess.run([DBSJ, *args], capture_output=True, text=True,
                          env=env or ENV, timeout=300, **kw)


def _clear_store_error(proc: subprocess.CompletedProcess[str], path: Path, *words: str) -> None:
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr and "Traceback" not in proc.stdout, proc.stderr
    assert str(path.name) in proc.stderr and "存储文件" in proc.stderr, proc.stderr
    for w in words:
        assert w in proc.stderr, (w, proc.stderr)


def _copy(good, name: str, data: bytes | None = None) -> Path:
    p = good["work"] / name
    for f in (p, Path(f"{p}.wal")):
        f.unlink(missing_ok=True)
    p.write_bytes(good["bytes"] if data is None else data)
    return p


# -- truncation -----------------------------------------------------------------------------------------------

def _sweep(good, cases: list[dict[str, int]]) -> list[dict]:
    """Damage a copy of the store as each case says and run three commands on it (in one process)."""
    proc = subprocess.run([sys.executable, "-c", _SWEEP, str(good["path"]), str(good["work"]), str(good["new_items"]),
                           str(good["work"] / "good-targets.csv"), json.dumps(cases)],
                          capture_output=True, text=True, env=ENV, timeout=900)
    out = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    assert proc.returncode == 0 and len(out) == len(cases), (proc.returncode, proc.stderr[-3000:])
    for case in out:
        for step in ("verify", "export", "import"):
            rc, _out, err = case[step]
            assert rc in (0, 2), (case["offset"], step, rc, err)
            assert "Traceback" not in err and "内部错误" not in err, (case["offset"], step, err)
            if rc == 2:
                assert "flip.duckdb" in err and ("损坏" in err or "截断" in err), (case["offset"], step, err)
                assert "dbsj restore" in err, (case["offset"], step, err)
    return out


def test_truncation_to_any_length_is_refused_before_anything_is_written(good):
    size = len(good["bytes"])
    assert size > HEADER + 4 * BLOCK, "the test store should span several blocks"
    cuts = [0, 1, 11, 12, 4096, HEADER - 1, HEADER, HEADER + 1, HEADER + BLOCK, size // 2, size - BLOCK, size - 1]
    for case in _sweep(good, [{"cut": c} for c in cuts]):
        # The case of the report: a write into a half-truncated store printed success. Now every command is
        # refused at open, and the file is left exactly as it was.
        assert [case[s][0] for s in ("verify", "export", "import")] == [2, 2, 2], case
        assert "截断" in case["import"][2] and case["unchanged"], case


def test_english_message_says_the_same(good):
    p = _copy(good, "cut-en.duckdb", good["bytes"][: len(good["bytes"]) // 2])
    proc = _cli("--lang", "en", "ledger", "verify", "--db", str(p))
    assert proc.returncode == 2 and "truncated" in proc.stderr and "dbsj restore" in proc.stderr, proc.stderr


# -- flipped bytes ----------------------------------------------------------------------------------------------

_SWEEP = r"""
import json, os, sys, io, contextlib
from pathlib import Path
import dbsj
from dbsj.cli import main

good, work, new_items, good_export = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], Path(sys.argv[4]).read_bytes()
data = good.read_bytes()
cases = json.loads(sys.argv[5])

def run(*args):
    err, out = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
        rc = main(list(args))
    return rc, out.getvalue(), err.getvalue()

for spec in cases:
    p = work / "flip.duckdb"
    for f in (p, Path(str(p) + ".wal")):
        f.unlink(missing_ok=True)
    if "flip" in spec:
        b = bytearray(data); b[spec["flip"]] ^= 0x5A
    else:
        b = data[:spec["cut"]]
    p.write_bytes(bytes(b))
    case = {"offset": spec.get("flip", spec.get("cut"))}
    case["verify"] = run("ledger", "verify", "--db", str(p))
    exp = work / "flip-export.csv"
    exp.unlink(missing_ok=True)
    case["export"] = run("pool", "export", "targets", "--out", str(exp), "--db", str(p))
    case["export_same"] = exp.exists() and exp.read_bytes() == good_export
    case["import"] = run("pool", "import", "items", new_items, "--db", str(p), "--quarantine-dir", str(work))
    if case["import"][0] == 0:
        # A write that said it was done must be in the file, read by a fresh connection.
        try:
            with dbsj.Store(p, read_only=True) as s:
                case["persisted"] = s.count("items", "code LIKE 'T-01%'")
        except dbsj.StoreError as exc:
            case["persisted"] = str(exc)
    case["unchanged"] = p.read_bytes() == bytes(b) and not Path(str(p) + ".wal").exists()
    print(json.dumps(case, ensure_ascii=False), flush=True)
"""


def _offsets(size: int) -> list[int]:
    """Bytes of the main and both database headers, then three places in every block: just past its checksum,
    its middle and its last byte."""
    out = [0, 8, 9, 20, 100, 4096, 4096 + 24, 4096 + 40, 8192, 8192 + 24, 8192 + 40]
    for start in range(HEADER, size, BLOCK):
        end = min(start + BLOCK, size)
        out += [start, start + 9, start + (end - start) // 2, end - 1]
    return sorted(set(o for o in out if o < size))


def test_flipped_bytes_anywhere_give_a_clear_error_or_change_nothing(good):
    offsets = _offsets(len(good["bytes"]))
    cases = _sweep(good, [{"flip": o} for o in offsets])
    for case in cases:
        # Nothing undetected: a read that succeeded read exactly the original data.
        if case["export"][0] == 0:
            assert case["export_same"], case["offset"]
        # Nothing reported done that did not persist.
        if case["import"][0] == 0:
            assert case["persisted"] == 5, case
    # Every header byte and most block bytes are in use: the sweep must have met real damage.
    caught = sum(case[s][0] == 2 for case in cases for s in ("verify", "export", "import"))
    assert caught >= len(offsets) // 2, caught


# -- not a store -----------------------------------------------------------------------------------------------

def test_files_that_are_not_duckdb_stores(good, tmp_path):
    import sqlite3
    import zipfile

    text = tmp_path / "text.duckdb"
    text.write_text("uscc,name\n" * 2000, encoding="utf-8")
    lite = tmp_path / "lite.duckdb"
    sqlite3.connect(lite).execute("CREATE TABLE t (a)").connection.commit()
    zipped = tmp_path / "zip.duckdb"
    with zipfile.ZipFile(zipped, "w") as z:
        z.writestr("a.txt", "x" * 20000)
    folder = tmp_path / "folder.duckdb"
    folder.mkdir()
    for path, words in ((text, ("不是 DuckDB 数据库", "文本文件")), (lite, ("SQLite",)), (zipped, ("压缩文件",)),
                        (folder, ("不是普通文件",))):
        before = path.read_bytes() if path.is_file() else None
        for args in (("ledger", "verify"), ("pool", "import", "items", str(good["new_items"]))):
            _clear_store_error(_cli(*args, "--db", str(path)), path, *words)
        assert (path.read_bytes() if path.is_file() else None) == before


# -- the WAL ---------------------------------------------------------------------------------------------------

_COMMIT_THEN_DIE = r"""
import os, signal, sys
import dbsj
with_store = dbsj.Store(sys.argv[1])
for i in range(20):
    with with_store.transaction():
        dbsj.Ledger(with_store).append("test.after", f"w{i}", {"i": i})
os.kill(os.getpid(), signal.SIGKILL)  # committed, never checkpointed: the changes are only in the WAL
"""


def _store_with_wal(good, name: str) -> tuple[Path, Path]:
    p = _copy(good, name)
    proc = subprocess.run([sys.executable, "-c", _COMMIT_THEN_DIE, str(p)], env=ENV, capture_output=True, timeout=120)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    wal = Path(f"{p}.wal")
    assert wal.exists() and wal.stat().st_size > 0
    return p, wal


def test_an_intact_wal_is_replayed_after_a_kill(good):
    p, _wal = _store_with_wal(good, "wal-ok.duckdb")
    proc = _cli("ledger", "verify", "--db", str(p), "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["entries"] == good["entries"] + 20


def test_a_damaged_wal_is_a_clear_error_and_the_store_is_untouched(good):
    p, wal = _store_with_wal(good, "wal-bad.duckdb")
    raw = bytearray(wal.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    wal.write_bytes(bytes(raw))
    before = (p.read_bytes(), wal.read_bytes())
    for args in (("ledger", "verify"), ("pool", "import", "items", str(good["new_items"]))):
        proc = _cli(*args, "--db", str(p))
        _clear_store_error(proc, p, "预写日志", "dbsj restore", "移走")
    assert (p.read_bytes(), wal.read_bytes()) == before


# -- permissions, vanished files ----------------------------------------------------------------------------------

def _unshare_ok() -> bool:
    if not shutil.which("unshare"):
        return False
    return subprocess.run(["unshare", "-m", "true"], capture_output=True).returncode == 0


def _in_namespace(script: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["unshare", "-m", "sh", "-c", script], capture_output=True, text=True, env=ENV, timeout=300)


@pytest.mark.skipif(not _unshare_ok(), reason="needs a private mount namespace (unshare -m) to mount a read-only file system")
def test_read_only_file_system(good, tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    p = ro / "s.duckdb"
    p.write_bytes(good["bytes"])
    script = textwrap.dedent(f"""
        mount --bind {ro} {ro} && mount -o remount,ro,bind {ro} || exit 97
        {DBSJ} ledger verify --db {p}; echo "rc=$?"
        {DBSJ} pool import items {good['new_items']} --db {p} --quarantine-dir {tmp_path}; echo "rc=$?"
    """)
    proc = _in_namespace(script)
    if proc.returncode == 97:
        pytest.skip("bind mounts are not permitted here")
    assert proc.stdout.count("rc=") == 2, proc.stderr
    first, second = [line for line in proc.stdout.splitlines() if line.startswith("rc=")]
    assert first == "rc=0", proc.stderr  # reading a store on a read-only medium works
    assert second == "rc=2", proc.stderr
    assert "Traceback" not in proc.stderr and "s.duckdb" in proc.stderr
    assert "只读" in proc.stderr or "没有权限" in proc.stderr, proc.stderr
    assert p.read_bytes() == good["bytes"]


def test_write_permission_refused(good, tmp_path):
    """A store the operator may read but not write: mode 0444, or — for root, whom modes do not stop — the
    immutable attribute."""
    p = tmp_path / "perm.duckdb"
    p.write_bytes(good["bytes"])
    if os.geteuid() != 0:
        os.chmod(p, 0o444)
        undo = ["chmod", "644", str(p)]
    else:
        if not shutil.which("chattr") or subprocess.run(["chattr", "+i", str(p)], capture_output=True).returncode != 0:
            pytest.skip("running as root on a file system without the immutable attribute: no way to refuse writes")
        undo = ["chattr", "-i", str(p)]
    try:
        proc = _cli("pool", "import", "items", str(good["new_items"]), "--db", str(p), "--quarantine-dir", str(tmp_path))
        _clear_store_error(proc, p, "没有权限")
        assert _cli("ledger", "verify", "--db", str(p)).returncode == 0  # reading still works
    finally:
        subprocess.run(undo, check=True)
    assert p.read_bytes() == good["bytes"]


def test_a_store_deleted_while_open_is_rescued(good):
    p = _copy(good, "vanish.duckdb")
    store = dbsj.Store(p)
    os.unlink(p)
    with store.transaction():
        dbsj.Ledger(store).append("test.late", "x", {"written": "after the file was deleted"})
    with pytest.raises(dbsj.StoreError) as err:
        store.close()
    assert err.value.context["reason"] == "vanished"
    rescued = Path(err.value.context["rescued"])
    assert "被删除" in err.value.zh and str(rescued) in err.value.zh
    with dbsj.Store(rescued, read_only=True) as s:
        assert dbsj.Ledger(s).verify() == good["entries"] + 1
        assert dbsj.Ledger(s).entries()[-1].kind == "test.late"
    rescued.unlink()


def test_a_store_replaced_while_open_is_reported(good):
    p = _copy(good, "replaced.duckdb")
    other = _copy(good, "other.duckdb")
    store = dbsj.Store(p)
    os.replace(other, p)
    with store.transaction():
        dbsj.Ledger(store).append("test.late", "x", {})
    with pytest.raises(dbsj.StoreError, match="替换") as err:
        store.close()
    assert Path(err.value.context["rescued"]).exists()
    with dbsj.Store(p, read_only=True) as s:  # the file now at the path is the other one, untouched
        assert dbsj.Ledger(s).verify() == good["entries"]
    Path(err.value.context["rescued"]).unlink()


# -- a full disk -------------------------------------------------------------------------------------------------

def _big_targets_csv(path: Path, n: int) -> Path:
    rows = ["统一社会信用代码,企业名称,企业类型,登记状态,行政区划代码"]
    rows += [f"{uscc(100_000 + i)},新疆某某商贸有限公司{i}{'甲' * 40},企业,存续,650102" for i in range(n)]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def _after_failed_write(good, p: Path) -> None:
    with dbsj.Store(p, read_only=True) as s:
        assert dbsj.Ledger(s).verify() == good["entries"]
        assert s.count("targets") == 6000 and s.count("imports") == 2


def test_a_file_size_limit_fails_the_write_clearly_and_saves_nothing(good, tmp_path):
    """A full disk, as a process sees it: writes beyond the limit fail (EFBIG), like ENOSPC."""
    p = _copy(good, "fsize.duckdb")
    big = _big_targets_csv(tmp_path / "big.csv", 60_000)
    limit = len(good["bytes"]) + 256 * 1024

    def cap() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    proc = _cli("pool", "import", "targets", str(big), "--db", str(p), "--quarantine-dir", str(tmp_path),
                preexec_fn=cap)
    _clear_store_error(proc, p, "磁盘空间不足或超过文件大小限制")
    assert "新增" not in proc.stdout  # no success line
    _after_failed_write(good, p)


@pytest.mark.skipif(not _unshare_ok(), reason="needs a private mount namespace (unshare -m) to mount a small tmpfs")
def test_a_full_tmpfs_fails_the_write_clearly_and_saves_nothing(good, tmp_path):
    mnt = tmp_path / "full"
    mnt.mkdir()
    big = _big_targets_csv(tmp_path / "big.csv", 60_000)
    size_kb = (len(good["bytes"]) + 512 * 1024) // 1024
    keep = tmp_path / "after.duckdb"
    script = textwrap.dedent(f"""
        mount -t tmpfs -o size={size_kb}k tmpfs {mnt} || exit 97
        cp {good['path']} {mnt}/s.duckdb
        {DBSJ} pool import targets {big} --db {mnt}/s.duckdb --quarantine-dir {tmp_path}; echo "rc=$?"
        cp {mnt}/s.duckdb {keep}; [ -f {mnt}/s.duckdb.wal ] && cp {mnt}/s.duckdb.wal {keep}.wal; true
    """)
    proc = _in_namespace(script)
    if proc.returncode == 97:
        pytest.skip("tmpfs mounts are not permitted here")
    assert "rc=2" in proc.stdout, (proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr and "磁盘空间不足" in proc.stderr, proc.stderr
    _after_failed_write(good, keep)


# -- backup and restore ----------------------------------------------------------------------------------------

def _tables(path: Path) -> dict[str, list]:
    with dbsj.Store(path, read_only=True) as s:
        names = [r[0] for r in s.execute("SELECT table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE' "
                                         "ORDER BY table_name").fetchall()]
        return {t: s.execute(f'SELECT * FROM "{t}" ORDER BY ALL').fetchall() for t in names}


def test_backup_damage_restore_round_trip(good, tmp_path):
    p = _copy(good, "live.duckdb")
    before = _tables(p)
    backup = tmp_path / "live.dbsj.tar"
    proc = _cli("backup", "--db", str(p), "--out", str(backup), "--json")
    assert proc.returncode == 0, proc.stderr
    manifest = json.loads(proc.stdout)
    assert manifest["format"] == "dbsj-backup/1" and manifest["ledger_entries"] == good["entries"]
    assert manifest["ledger_head"] == before["ledger"][-1][6] and manifest["tables"]["targets"] == 6000
    assert dbsj.read_backup(backup).store_sha256 == manifest["store_sha256"]

    raw = bytearray(p.read_bytes())  # damage: a flipped byte in the first data block
    raw[HEADER + 9] ^= 0x5A
    p.write_bytes(bytes(raw))
    _clear_store_error(_cli("ledger", "verify", "--db", str(p)), p, "损坏")

    refused = _cli("restore", str(backup), "--db", str(p))
    assert refused.returncode == 2 and "--force" in refused.stderr and p.read_bytes() == bytes(raw)

    proc = _cli("restore", str(backup), "--db", str(p), "--force", "--json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert Path(report["replaced"]).read_bytes() == bytes(raw)  # the damaged file is kept, not deleted
    assert _cli("ledger", "verify", "--db", str(p)).returncode == 0
    after = _tables(p)
    assert {t: v for t, v in after.items() if t != "ledger"} == {t: v for t, v in before.items() if t != "ledger"}
    n = good["entries"]
    assert after["ledger"][:n] == before["ledger"]
    assert [r[1] for r in after["ledger"][n:]] == ["store.restored"]
    assert report["ledger_entries"] == n + 1 and report["ledger_head"] == after["ledger"][-1][6]


def test_restore_refuses_a_damaged_or_foreign_backup_and_changes_nothing(good, tmp_path):
    p = _copy(good, "keep.duckdb")
    backup = tmp_path / "b.tar"
    assert _cli("backup", "--db", str(p), "--out", str(backup)).returncode == 0
    data = backup.read_bytes()
    target = tmp_path / "target.duckdb"
    target.write_bytes(good["bytes"])

    flipped = tmp_path / "flipped.tar"
    b = bytearray(data)
    b[512 + HEADER + 100] ^= 0x01  # inside the store member's bytes
    flipped.write_bytes(bytes(b))
    cut = tmp_path / "cut.tar"
    cut.write_bytes(data[: len(data) // 2])
    foreign = tmp_path / "foreign.tar"
    foreign.write_text("not a tar at all\n" * 100, encoding="utf-8")
    for bad, words in ((flipped, ("校验和不符",)), (cut, ("manifest.json",)), (foreign, ("不是 dbsj 备份",))):
        proc = _cli("restore", str(bad), "--db", str(target), "--force")
        assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
        for w in words:
            assert w in proc.stderr, (w, proc.stderr)
        assert target.read_bytes() == good["bytes"]
        assert sorted(x.name for x in tmp_path.iterdir() if x.name.startswith(("target", ".target"))) == ["target.duckdb"]


def test_backup_refuses_a_damaged_store_and_an_existing_file(good, tmp_path):
    raw = bytearray(good["bytes"])
    raw[good["names_at"]] ^= 0x5A  # damage that opening the store and verifying the ledger do not touch
    p = _copy(good, "bk-damaged.duckdb", bytes(raw))
    assert _cli("ledger", "verify", "--db", str(p)).returncode == 0
    out = tmp_path / "x.tar"
    proc = _cli("backup", "--db", str(p), "--out", str(out))
    _clear_store_error(proc, p, "损坏", "不做备份")
    assert not out.exists() and not any(x.name.startswith(".x.tar") for x in tmp_path.iterdir())
    out.write_text("keep me")
    proc = _cli("backup", "--db", str(good["path"]), "--out", str(out))
    assert proc.returncode == 2 and "拒绝覆盖" in proc.stderr and out.read_text() == "keep me"


def test_restore_refuses_a_store_in_use(good, tmp_path):
    backup = tmp_path / "b.tar"
    assert _cli("backup", "--db", str(good["path"]), "--out", str(backup)).returncode == 0
    p = _copy(good, "busy.duckdb")
    holder = subprocess.Popen([sys.executable, "-c", "import sys, dbsj; s = dbsj.Store(sys.argv[1]); print('held', flush=True); "
                               "sys.stdin.read()", str(p)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=ENV)
    try:
        assert holder.stdout.readline().strip() == "held"
        proc = _cli("restore", str(backup), "--db", str(p), "--force")
        assert proc.returncode == 2 and "另一个进程" in proc.stderr, proc.stderr
    finally:
        holder.stdin.close()
        holder.wait(60)
    assert p.read_bytes() == good["bytes"]


# -- a file shorter than its header: honest when only free blocks are gone ----------------------------------------

def _header_blocks(data: bytes) -> tuple[int, int]:
    """(block count, block size) of the newer of the two DuckDB database headers (at 4 and 8 KiB)."""
    import struct

    heads = [struct.unpack_from("<QQqqQQ", data, off) for off in (4096, 8192)]
    _c, _it, _meta, _free, blocks, block_size = max(heads, key=lambda h: h[1])
    return blocks, block_size


@pytest.fixture(scope="module")
def shrunk(good):
    """An honest store whose last checkpoint cut its free tail off: a large scratch table was written,
    checkpointed, then dropped. DuckDB keeps the header's block count (a high-water mark) and shortens the file."""
    path = good["work"] / "shrunk.duckdb"
    path.write_bytes(good["bytes"])
    with dbsj.Store(path) as store:
        store.execute("CREATE TABLE scratch AS SELECT i, md5(i::VARCHAR) || md5((i + 1)::VARCHAR) AS s "
                      "FROM range(600000) t(i)")
    with dbsj.Store(path) as store:
        store.execute("DROP TABLE scratch")
    data = path.read_bytes()
    blocks, block_size = _header_blocks(data)
    return {"path": path, "bytes": data, "blocks": blocks, "block_size": block_size}


def test_an_honest_store_shorter_than_its_header_opens(good, shrunk):
    data, blocks, bs = shrunk["bytes"], shrunk["blocks"], shrunk["block_size"]
    # The premise, so the test has teeth: the header counts blocks the file no longer holds.
    assert len(data) < HEADER + blocks * bs, (len(data), blocks)
    assert (HEADER + blocks * bs - len(data)) // bs >= 2
    proc = _cli("ledger", "verify", "--db", str(shrunk["path"]))
    assert proc.returncode == 0, proc.stderr
    # A write into it succeeds and persists, read back by a fresh connection.
    proc = _cli("pool", "import", "items", str(good["new_items"]), "--db", str(shrunk["path"]),
                "--quarantine-dir", str(good["work"]))
    assert proc.returncode == 0, proc.stderr
    with dbsj.Store(shrunk["path"], read_only=True) as s:
        assert s.count("items", "code LIKE 'T-01%'") == 5
        assert dbsj.Ledger(s).verify() > good["entries"]


def test_a_shrunk_store_cut_into_used_blocks_is_refused(good, shrunk):
    data, bs = shrunk["bytes"], shrunk["block_size"]
    used = (len(data) - HEADER) // bs  # blocks the file holds; the last ones are in use
    cuts = [len(data) - 1, len(data) - bs // 2, HEADER + (used - 1) * bs, HEADER + (used // 2) * bs, HEADER + bs]
    for cut in cuts:
        p = _copy(good, "shrunk-cut.duckdb", data[:cut])
        proc = _cli("ledger", "verify", "--db", str(p))
        _clear_store_error(proc, p, "截断", "dbsj restore")
        assert p.read_bytes() == data[:cut] and not Path(f"{p}.wal").exists(), cut
