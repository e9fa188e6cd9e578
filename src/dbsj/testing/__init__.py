"""The plug-in author's kit: hypothesis strategies, a fake department, and a conformance suite.

Needs the ``[testing]`` extra (hypothesis)::

    pip install 'dbsj[testing]'

- :mod:`dbsj.testing` — strategies :func:`items`, :func:`targets` (valid USCCs), :func:`inspectors`,
  :func:`plans` (valid :class:`dbsj.Plan` over given items), :func:`pools`, :func:`usccs`,
  :func:`region_codes`; :class:`FakeDepartment` (a plug-in object built from lists of models) and
  :func:`records_to_batch`.
- :mod:`dbsj.testing.conformance` — :class:`~dbsj.testing.conformance.PluginConformance`, the pytest
  base class a plug-in's own tests subclass (imports pytest, so it is not imported here).

docs/plugins.md shows all of it at work.
"""

from __future__ import annotations

try:
    import hypothesis  # noqa: F401
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError("dbsj.testing needs hypothesis: pip install 'dbsj[testing]'") from exc

from dbsj.testing.fake import FakeDepartment, records_to_batch
from dbsj.testing.strategies import inspectors, items, plans, pools, region_codes, targets, usccs

__all__ = ["items", "targets", "inspectors", "plans", "pools", "usccs", "region_codes", "FakeDepartment",
           "records_to_batch"]
