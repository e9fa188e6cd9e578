"""督查考评: assessment metrics and the self-contained HTML report."""

from dbsj.assess.metrics import ASSESSMENT_LABELS, assess
from dbsj.assess.report import render_report, write_report

__all__ = ["assess", "ASSESSMENT_LABELS", "render_report", "write_report"]
