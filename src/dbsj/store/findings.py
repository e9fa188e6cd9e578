"""What an audit finds: one mismatch between a stored table and what the ledger (or an anchor) binds."""

from __future__ import annotations

from typing import Any

import attrs

__all__ = ["AuditFinding"]


@attrs.frozen(slots=True)
class AuditFinding:
    """One mismatch.

    :ivar table: the stored table (or ``ledger``, ``anchor``) where it was found.
    :ivar key: which row or group: a draw id, a result entry number, a batch id, a ledger sequence number.
    :ivar zh: what is wrong, in Chinese.
    :ivar en: the same in English.
    """

    table: str
    key: str
    zh: str
    en: str

    def render(self, lang: str = "zh") -> str:
        return f"{self.table} [{self.key}]: {self.zh if lang == 'zh' else self.en}"

    def to_dict(self) -> dict[str, Any]:
        return {"table": self.table, "key": self.key, "message_zh": self.zh, "message_en": self.en}
