"""The bounds of intake: what is too big to be a department's export, and what happens at each bound.

Within the bounds every row is accepted or quarantined; a cell longer than ``max_cell_chars`` quarantines its
row (field and limit named). Beyond a file-level bound the whole file is refused with an
:class:`~dbsj.errors.IntakeError` naming the bound, and nothing is imported. docs/intake.md lists them.
"""

from __future__ import annotations

import attrs

from dbsj.models.pools import MAX_CELL_CHARS

__all__ = ["IntakeLimits", "DEFAULT_LIMITS"]


@attrs.frozen(slots=True)
class IntakeLimits:
    """Bounds of one import (all sizes in bytes unless named otherwise)."""

    #: Largest file read (CSV or XLSX, as stored on disk): 8 GiB, about 25 million rows of a target pool.
    max_file_bytes: int = 8 * 1024 ** 3
    #: Most columns in a header row.
    max_columns: int = 1_000
    #: Longest cell accepted, in characters (Excel's own limit); a longer one quarantines its row.
    max_cell_chars: int = MAX_CELL_CHARS
    #: Longest field or row the CSV parsers take at all (Python's csv field limit is raised to it, pyarrow reads
    #: blocks of this size); beyond it the file is refused — usually an unclosed quote.
    max_field_bytes: int = 16 * 1024 ** 2
    #: Largest part of an XLSX (worksheet, shared strings) once decompressed.
    max_xlsx_part_bytes: int = 1024 ** 3
    #: Highest compression ratio of an XLSX part above 10 MiB decompressed (zip bombs reach 1000:1).
    max_xlsx_ratio: int = 200


DEFAULT_LIMITS = IntakeLimits()
