"""Greedy-then-augment b-matching of visit-department slots to inspectors (the solver behind assignment).

One *group* is one prefecture × department: inspectors are local and belong to one department, so the
slots of different groups never compete for the same inspector and each group is solved on its own.

A *node* is one (visit, department) with a demand (how many distinct inspectors it needs) and its
candidates — the inspectors that passed every check — in ticket order. Every inspector has a workload
cap. The solver:

1. **Greedy**: nodes in their given order; each takes its candidates in ticket order, skipping inspectors
   at their cap or already on the node.
2. **Repair**: for each node still short, a breadth-first search for an augmenting path in the residual
   graph (node → candidate not on it → node holding that inspector → …) ending at an inspector below cap;
   applying it moves inspectors along the path and fills one more place. A search that fails marks what it
   reached dead for the rest of the pass (a failed Hungarian tree never carries an augmenting path later).
   After a pass no augmenting path exists, so the number of places filled is a maximum flow.
3. **Automatic cap** (``auto_cap``): when some short node still has a candidate not on it, only the cap
   stops it; the cap rises by one and the repair repeats. The final cap is the smallest with which as many
   places are filled as with no cap at all.

Everything here depends on inspectors only through the candidate order (tickets) and eligibility, never on
their ids: relabelling inspectors with the same eligibility, with their tickets, relabels the outcome. That is
what makes the exact fairness property hold.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence

import attrs

__all__: list[str] = []  # internal to dbsj.draw.assignment


@attrs.frozen(slots=True)
class GroupSolution:
    """The outcome for one group: ``teams[k]`` lists the inspectors of node ``k`` (in the order they were taken)."""

    teams: list[list[int]]
    cap: int
    short: list[tuple[int, int, str]]  # (node, places short, why)
    greedy_filled: int
    augmentations: int


def solve_group(demands: Sequence[int], candidates: Sequence[Sequence[int]], *, cap: int, auto_cap: bool,
                repair: bool = True, n_inspectors: int | None = None) -> GroupSolution:
    """Solve one group. ``candidates[k]`` holds inspector numbers (non-negative ints below ``n_inspectors``,
    computed when not given) in ticket order."""
    n = len(demands)
    teams: list[list[int]] = [[] for _ in range(n)]
    if n_inspectors is None:
        n_inspectors = max((max(c) for c in candidates if c), default=-1) + 1
    load = [0] * n_inspectors
    holders: dict[int, dict[int, None]] = {}  # inspector -> nodes holding it, insertion-ordered

    # 1. greedy in ticket order
    filled = 0
    for k in range(n):
        need = demands[k]
        if not need:
            continue
        team = teams[k]
        for i in candidates[k]:
            if load[i] < cap and i not in team:
                team.append(i)
                load[i] += 1
                holders.setdefault(i, {})[k] = None
                need -= 1
                if not need:
                    break
        filled += demands[k] - need
    greedy_filled = filled
    augmentations = 0

    def augment_pass(waiting: list[int], cap_now: int) -> tuple[int, list[int]]:
        """Augmenting searches from every short node; returns places filled and the nodes still short."""
        dead: set[int] = set()
        gained = 0
        for u in waiting:
            while len(teams[u]) < demands[u]:
                path = _search(u, candidates, teams, load, holders, cap_now, dead)
                if path is None:
                    break
                _apply(*path, teams, load, holders)
                gained += 1
        return gained, [k for k in waiting if len(teams[k]) < demands[k]]

    waiting = [k for k in range(n) if len(teams[k]) < demands[k]]
    if repair and waiting:
        gained, waiting = augment_pass(waiting, cap)
        augmentations += gained
        if auto_cap:
            while any(_cap_bound(k, candidates, teams) for k in waiting):
                cap += 1
                gained, waiting = augment_pass(waiting, cap)
                augmentations += gained

    short = []
    for k in waiting:
        missing = demands[k] - len(teams[k])
        if not candidates[k]:
            why = "no_eligible_inspector"
        elif _cap_bound(k, candidates, teams):
            why = "workload_cap"
        else:
            why = "too_few_eligible"
        short.append((k, missing, why))
    return GroupSolution(teams=teams, cap=cap, short=short, greedy_filled=greedy_filled, augmentations=augmentations)


def _cap_bound(k: int, candidates: Sequence[Sequence[int]], teams: list[list[int]]) -> bool:
    """A short node with a candidate not on its team is held back by the workload cap alone."""
    team = teams[k]
    return any(i not in team for i in candidates[k])


def _search(u: int, candidates: Sequence[Sequence[int]], teams: list[list[int]], load: list[int],
            holders: dict[int, dict[int, None]], cap: int, dead: set[int]) -> tuple[list[int], list[int]] | None:
    """Breadth-first search for an augmenting path from short node ``u``.

    A node is checked for a free candidate (below cap, not on its team) the moment it is reached, before
    anything is queued behind it: in dense groups most paths are one exchange long and are found at once.
    Returns ``(nodes, takes)`` for :func:`_apply`, or ``None`` when no path exists — then everything the search
    reached is dead for the rest of the pass (a failed search tree never carries an augmenting path later).
    """
    reached_from: dict[int, int] = {}  # inspector -> node that wants it
    gives_up: dict[int, int] = {u: -1}  # node -> inspector it hands to the node that reached it

    def free_candidate(x: int) -> int:
        team = teams[x]
        for i in candidates[x]:
            # most candidates are at their cap: test that first
            if load[i] < cap and i not in team and i not in reached_from and i not in dead:
                return i
        return -1

    def path_to(x: int, i: int) -> tuple[list[int], list[int]]:
        nodes, takes = [], []
        while True:
            nodes.append(x)
            takes.append(i)
            give = gives_up[x]
            if give == -1:
                nodes.reverse()
                takes.reverse()
                return nodes, takes
            x, i = reached_from[give], give

    i = free_candidate(u)
    if i >= 0:
        return path_to(u, i)
    queue = deque([u])
    while queue:
        x = queue.popleft()
        team = teams[x]
        for i in candidates[x]:
            if i in reached_from or i in dead or i in team:
                continue
            reached_from[i] = x
            for y in holders.get(i, ()):
                if y in gives_up:
                    continue
                gives_up[y] = i
                j = free_candidate(y)
                if j >= 0:
                    return path_to(y, j)
                queue.append(y)
    dead.update(reached_from)
    return None


def _apply(nodes: list[int], takes: list[int], teams: list[list[int]], load: list[int],
           holders: dict[int, dict[int, None]]) -> None:
    """Apply an augmenting path: ``nodes[j]`` takes ``takes[j]``, which ``nodes[j + 1]`` gives up; the last
    inspector taken was below its cap (its load grows by one), every other one only changes hands."""
    load[takes[-1]] += 1
    for j, node in enumerate(nodes):
        team = teams[node]
        if j:
            give = takes[j - 1]
            team.remove(give)
            del holders[give][node]
        team.append(takes[j])
        holders.setdefault(takes[j], {})[node] = None
