"""督查考评: assessment metrics and the self-contained HTML report."""

from dbsj.assess.metrics import ASSESSMENT_LABELS, assess

__all__ = ["assess", "ASSESSMENT_LABELS"]
