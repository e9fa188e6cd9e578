"""Intake: CSV/XLSX files and plug-ins' Arrow batches into validated pools, with a quarantine; export back out.

Public API (re-exported from :mod:`dbsj`): :func:`import_pool`, :func:`import_batches`, :func:`pull_pool`,
:func:`export_pool`, :func:`header_aliases`, :class:`ImportReport`, :class:`IntakeLimits`. docs/intake.md is the manual.
"""

from dbsj.intake.aliases import header_aliases
from dbsj.intake.export import export_pool
from dbsj.intake.importer import ImportReport, import_batches, import_pool, pull_pool
from dbsj.intake.limits import IntakeLimits

__all__ = ["ImportReport", "IntakeLimits", "import_pool", "import_batches", "pull_pool", "export_pool", "header_aliases"]
