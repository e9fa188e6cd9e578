"""The solver behind assignment: greedy-then-augment b-matching of visit-department places to inspectors.

The reference implementation lives in :mod:`dbsj.verifier` (standard library only), so that the auditor's
standalone verifier and dbsj run the very same matching; this module is the name dbsj's assignment imports
it by. :func:`solve_group` documents the algorithm; docs/assignment.md specifies it.

One *group* is one prefecture × department: inspectors are local and belong to one department, so the
places of different groups never compete for an inspector and each group is solved on its own. Everything
the solver does depends on inspectors only through the candidate order (tickets) and eligibility, never on
their numbers: relabelling inspectors with the same eligibility, with their tickets, relabels the outcome.
That is what makes the exact fairness property hold.
"""

from __future__ import annotations

from dbsj.verifier import GroupSolution, solve_group

__all__: list[str] = []  # internal to dbsj.draw.assignment

_ = (GroupSolution, solve_group)
