"""检查结果: what one visit found, item by item."""

from __future__ import annotations

import datetime as dt

from pydantic import ConfigDict, Field

from dbsj._validation import ValidatedModel

from dbsj.models.vocab import CheckMethod, Disposition, ResultCode

__all__ = ["Result"]


class Result(ValidatedModel):
    """The result of inspecting one target in one task: one code per item ("进一次门、查多项事").

    谁检查、谁录入: it is recorded by an inspector of the target's team, for the items that inspector's
    department checks in the task — a joint visit is recorded as one result per department.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    task_id: str = Field(min_length=1)
    uscc: str
    staff_id: str = Field(min_length=1, description="the assigned inspector who records it, of the department that "
                          "checks every item listed (谁检查、谁录入)")
    items: dict[str, ResultCode] = Field(min_length=1, description="item code -> result code")
    method: CheckMethod = CheckMethod.ON_SITE
    disposition: Disposition = Disposition.NONE
    inspected_on: dt.date = Field(description="the day the inspection ended (its result date)")
    note: str | None = None
