"""Sampling any list of ids (``dbsj sample``) with either algorithm.

``dbsj-sha256-bottomk/1`` uses the v1 native ticket with task id ``""`` and stratum ``""`` (one stratum; a
list sampled here has no seal, so the sealed ``dbsj-sha256-bottomk/2`` does not apply);
``rivest-consistent-2018`` reproduces Rivest's consistent_sampler order without replacement.
Either way the output is the first ``take`` ids in draw order with their tickets.
"""

from __future__ import annotations

from typing import Any

from dbsj.draw.consistent import RIVEST_ALGORITHM, consistent_order
from dbsj.errors import InputError
from dbsj.verifier import ALGORITHM_V1, ticket

__all__ = ["ALGORITHMS", "sample_ids"]

ALGORITHMS = (ALGORITHM_V1, RIVEST_ALGORITHM)


def sample_ids(ids: list[str], *, seed: str, take: int | None = None, algorithm: str = ALGORITHM_V1) -> list[dict[str, Any]]:
    """``[{"id", "ticket"}, …]`` for the first ``take`` ids (all when ``None``) in draw order.

    :raises InputError: an empty or duplicate id, an empty seed, a negative ``take``, an unknown algorithm.
    """
    if algorithm not in ALGORITHMS:
        raise InputError(f"未知的抽样算法 {algorithm!r}", f"unknown sampling algorithm {algorithm!r}",
                         hint_zh=f"可选: {', '.join(ALGORITHMS)}", hint_en=f"choose one of: {', '.join(ALGORITHMS)}")
    if not seed:
        raise InputError("种子不能为空", "the seed must not be empty")
    if take is not None and take < 0:
        raise InputError(f"抽取数量不能为负: {take}", f"take must not be negative: {take}")
    seen: dict[str, int] = {}
    for n, i in enumerate(ids, start=1):
        if not isinstance(i, str) or not i.strip():
            raise InputError(f"第 {n} 个编号为空", f"id number {n} is empty", where=f"id #{n}")
        if i in seen:
            raise InputError(f"编号重复: {i}（第 {seen[i]} 与第 {n} 个）", f"duplicate id {i} (numbers {seen[i]} and {n})",
                             where=f"id #{n}")
        seen[i] = n
    if algorithm == RIVEST_ALGORITHM:
        order = consistent_order(list(ids), seed)
    else:
        order = sorted((ticket(seed, "", "", i), i) for i in ids)
    chosen = order if take is None else order[:take]
    return [{"id": i, "ticket": t} for t, i in chosen]
