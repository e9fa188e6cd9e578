"""The pools and their imports against the ledger: contents digests, import rows, field changes, caches."""

from __future__ import annotations

from typing import Any

from dbsj.audit.context import AuditContext
from dbsj.store.bindings import (
    BOUND_POOLS,
    EMPTY_CONTENT,
    IMPORT_FIELDS,
    bound_contents,
    bucket_digests,
    changes_digest,
    combine_buckets,
    import_payload_row,
)

__all__ = ["audit_pools", "audit_imports"]


def audit_pools(ctx: AuditContext) -> None:
    """Each pool's contents against its last binding on the ledger; drift the ledger recorded; the caches."""
    store = ctx.store
    latest: dict[str, tuple[int, dict[str, Any]]] = {}
    for e in ctx.entries:
        for kind, content in bound_contents(e.payload).items():
            latest[kind] = (e.seq, content)
    for e in ctx.of_kind("pool.drift"):
        for d in e.payload.get("differences", []) or [{}]:
            ctx.find("pools", e.subject, f"ledger #{e.seq}" + (f" bucket {d['bucket']!r}" if "bucket" in d else ""),
                     f"账本第 {e.seq} 条记录：该名录库在 dbsj 之外被改动（{d.get('zh', '')}）",
                     f"ledger entry #{e.seq} records that this pool was altered outside dbsj ({d.get('en', '')})")
    predates = ctx.meta_int("bound_after_seq") > 0 or ctx.meta_int("bound_after_import") > 0
    for kind in BOUND_POOLS:
        found = bucket_digests(store, kind)
        rows = sum(n for n, _d in found.values())
        digest = combine_buckets(found)
        cached = {b: (int(n), d) for b, n, d in store.execute(
            "SELECT bucket, rows, digest FROM pool_buckets WHERE kind = ?", [kind]).fetchall()}
        binding = store.execute("SELECT rows, digest, ledger_seq FROM pool_bindings WHERE kind = ?", [kind]).fetchone()
        if kind not in latest:
            if rows and predates:
                ctx.note(kind, "pool", "该名录库在本版本绑定内容之前导入，尚未绑定；下一次导入时绑定",
                         "this pool was imported before this dbsj bound contents; its next import binds it")
            elif rows:
                ctx.find("pools", kind, "pool", f"有 {rows} 行，但账本从未绑定其内容（不是经 dbsj 导入的）",
                         f"it holds {rows} rows but the ledger never bound its contents (they did not come through a "
                         "dbsj import)")
            if binding is not None:
                ctx.find("pools", "pool_bindings", kind, "缓存中有绑定记录，而账本中没有", "a binding is cached that the ledger does not hold")
            continue
        seq, content = latest[kind]
        if content.get("sha256") != digest or content.get("rows") != rows:
            named = False
            if combine_buckets(cached) == content.get("sha256"):
                # The cache agrees with the ledger: it tells which buckets changed.
                for b in sorted(set(found) | set(cached)):
                    if found.get(b) != cached.get(b):
                        f, c = found.get(b, (0, EMPTY_CONTENT)), cached.get(b, (0, EMPTY_CONTENT))
                        ctx.find("pools", kind, f"bucket {b!r}",
                                 f"键以 {b!r} 结尾的行与账本第 {seq} 条绑定的内容不符（绑定 {c[0]} 行，现有 {f[0]} 行）",
                                 f"the rows whose key ends in {b!r} differ from those bound by ledger entry #{seq} "
                                 f"({c[0]} rows bound, {f[0]} found)")
                        named = True
            if not named:
                ctx.find("pools", kind, "pool", f"内容与账本第 {seq} 条绑定的不符（绑定 {content.get('rows')} 行，现有 {rows} 行）",
                         f"its contents differ from those bound by ledger entry #{seq} ({content.get('rows')} rows "
                         f"bound, {rows} found)")
        elif cached != found:
            ctx.find("pools", "pool_buckets", kind, "分桶缓存与名录库不符（缓存被改动）", "the bucket cache does not match the "
                     "pool (the cache was altered)")
        if binding is None or int(binding[2]) != seq or binding[1] != content.get("sha256"):
            ctx.find("pools", "pool_bindings", kind, f"与账本第 {seq} 条的最新绑定不符", f"does not match the latest binding, "
                     f"ledger entry #{seq}")
        if combine_buckets(cached) != content.get("sha256"):
            ctx.find("pools", "pool_buckets", kind, f"分桶缓存与账本第 {seq} 条绑定的内容不符",
                     f"the bucket cache does not combine to the digest bound by ledger entry #{seq}")
    for table in ("pool_bindings", "pool_buckets"):
        for (kind,) in store.execute(f"SELECT DISTINCT kind FROM {table} WHERE kind NOT IN "
                                     "(SELECT unnest(?::VARCHAR[])) ORDER BY 1", [list(BOUND_POOLS)]).fetchall():
            ctx.find("pools", table, kind, "不是名录库", "not a pool")
    # The key digests (a cache the draw may read): recomputed.
    from dbsj.store.digest import SET_DIGEST_SQL
    from dbsj.models.columns import natural_key

    have = {k for (k,) in store.execute("SELECT kind FROM pool_digests").fetchall()}
    for kind in ("items", "targets", "inspectors"):
        if kind not in have and any(e.subject == kind for e in ctx.of_kind("pool.imported")):
            ctx.find("pools", "pool_digests", kind, "导入后应有的键摘要缺失（行被删除）",
                     "the key digest every import keeps is missing (row deleted)")
    for kind, n, d in store.execute("SELECT kind, row_count, digest FROM pool_digests ORDER BY kind").fetchall():
        if kind not in ("items", "targets", "inspectors"):
            ctx.find("pools", "pool_digests", kind, "不是名录库", "not a pool")
            continue
        (key,) = natural_key(kind)
        n2, d2 = store.execute(f"SELECT count(*), {SET_DIGEST_SQL} FROM (SELECT {key} AS id FROM {kind} WHERE active)").fetchone()
        if (int(n), d) != (int(n2), d2):
            ctx.find("pools", "pool_digests", kind, f"与名录库现有的有效键不符（记录 {n} 个，现有 {n2} 个）",
                     f"does not match the pool's active keys ({n} recorded, {n2} found)")
    ctx.close_check("pools")


def audit_imports(ctx: AuditContext) -> None:
    """``imports`` rows against their ``pool.imported`` entries, and each import's ``pool_changes``."""
    store = ctx.store
    legacy = ctx.meta_int("bound_after_import")
    entries = {}
    for e in ctx.of_kind("pool.imported"):
        iid = e.payload.get("import_id")
        if iid in entries:
            ctx.find("imports", "imports", iid, f"账本第 {entries[iid].seq} 条与第 {e.seq} 条记录了同一次导入",
                     f"ledger entries #{entries[iid].seq} and #{e.seq} record the same import")
        entries[iid] = e
    ids = [int(i) for (i,) in store.execute("SELECT import_id FROM imports ORDER BY import_id").fetchall()]
    for iid in ids:
        e = entries.get(iid)
        if e is None:
            if iid > legacy:
                ctx.find("imports", "imports", iid, "账本中没有这次导入", "the ledger holds no entry for this import")
            continue
        row = import_payload_row(store, iid) or {}
        diffs = [f for f in IMPORT_FIELDS if row.get(f) != e.payload.get(f)]
        if diffs:
            ctx.find("imports", "imports", iid, f"与账本第 {e.seq} 条不符: {', '.join(diffs)}",
                     f"differs from ledger entry #{e.seq}: {', '.join(diffs)}")
        if e.subject != row.get("kind"):
            ctx.find("imports", "imports", iid, f"账本第 {e.seq} 条记录的是 {e.subject}", f"ledger entry #{e.seq} is for {e.subject}")
        if "changes_sha256" in e.payload and changes_digest(store, iid) != e.payload["changes_sha256"]:
            ctx.find("imports", "pool_changes", f"import {iid}", f"这次导入的字段变更记录与账本第 {e.seq} 条不符",
                     f"the field changes of this import differ from ledger entry #{e.seq}")
    for iid, e in sorted(entries.items(), key=lambda kv: kv[1].seq):
        if iid not in ids:
            ctx.find("imports", "imports", iid, f"账本第 {e.seq} 条记录的导入在表中不存在（行被删除）",
                     f"the import recorded by ledger entry #{e.seq} is missing (row deleted)")
    for (iid,) in store.execute("SELECT DISTINCT import_id FROM pool_changes WHERE import_id NOT IN "
                                "(SELECT import_id FROM imports) ORDER BY 1").fetchall():
        ctx.find("imports", "pool_changes", f"import {iid}", "变更记录指向不存在的导入", "changes of an import that does not exist")
    ctx.close_check("imports")
