"""After the draw: results, the working-day calendar, task states, publication, follow-up."""

from dbsj.lifecycle.followup import flagged_targets, run_followup
from dbsj.lifecycle.calendar import WorkdayCalendar, add_workdays, chinese_calendar_years, is_workday
from dbsj.lifecycle.calendar_data import CALENDAR_FORMAT, CalendarImport, calendar_schedules, import_calendar
from dbsj.lifecycle.publication import (
    PUBLICATION_HEADERS,
    PublicationBatch,
    due_results,
    notice_title,
    publication_deadline,
    publish,
)
from dbsj.lifecycle.results import (
    RESULT_COLUMNS,
    RecordedResult,
    import_results,
    record_result,
    record_results,
)
from dbsj.lifecycle.simulate import simulate_lifecycle
from dbsj.lifecycle.states import TASK_STATE_LABELS, TaskState, advance_task, sync_task_states, task_state, task_status

__all__ = [
    "WorkdayCalendar", "is_workday", "add_workdays", "chinese_calendar_years",
    "CalendarImport", "CALENDAR_FORMAT", "import_calendar", "calendar_schedules",
    "RecordedResult", "record_result", "record_results", "import_results", "RESULT_COLUMNS",
    "TaskState", "TASK_STATE_LABELS", "task_state", "advance_task", "sync_task_states", "task_status",
    "PublicationBatch", "PUBLICATION_HEADERS", "publish", "due_results", "publication_deadline", "notice_title",
    "run_followup", "flagged_targets", "simulate_lifecycle",
]
