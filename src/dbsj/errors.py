"""The one error family of dbsj.

Every error dbsj raises on purpose is a :class:`DbsjError`. Each says what was
wrong, where (file, row, field, plug-in, record) and what to do, in Chinese
first with an English rendering available (``str(err)`` follows the language
chosen with :func:`dbsj.set_language`, default Chinese).

The tree::

    DbsjError
    ├── InputError                 bad data or usage; CLI exit code 2
    │   ├── IntakeError            a file cannot be read at all (type, encoding, empty)
    │   │   └── MissingColumnError a required column is absent; names the accepted aliases
    │   ├── ModelError             a single record fails validation (API / plug-in boundary); also a ValueError
    │   ├── PlanError              a plan file is malformed or refers to unknown items/departments
    │   ├── RuleError              a rule pack is malformed (carries file:line)
    │   ├── SeedError              a seed is malformed, too early, or fails its consistency check
    │   ├── CalendarError          a date outside every working-day calendar's data
    │   └── ResultError            a result cannot be recorded (not drawn, not assigned, bad code/date)
    ├── StoreError                 the DuckDB store cannot be opened or is locked / too new
    ├── DrawError                  a draw cannot run (pool cannot be committed, no inspectors, record exists)
    ├── PluginError                a plug-in failed to load or misbehaved; carries ``.plugin``
    └── VerificationError          a record, ledger or chain does not re-derive; CLI exit code 1

The CLI maps :class:`InputError` to exit code 2, :class:`VerificationError`
to exit code 1, and everything else to exit code 2 with the message.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "DbsjError",
    "InputError",
    "IntakeError",
    "MissingColumnError",
    "ModelError",
    "PlanError",
    "RuleError",
    "SeedError",
    "CalendarError",
    "ResultError",
    "StoreError",
    "DrawError",
    "PluginError",
    "VerificationError",
    "set_language",
    "get_language",
]

_LANG = "zh"


def set_language(lang: str) -> None:
    """Choose the language of messages: ``"zh"`` (default) or ``"en"``."""
    global _LANG
    if lang not in ("zh", "en"):
        raise InputError(f"不支持的语言 {lang!r}，可选 zh 或 en", f"unsupported language {lang!r}; use zh or en")
    _LANG = lang


def get_language() -> str:
    """The language messages are rendered in (``"zh"`` or ``"en"``)."""
    return _LANG


class DbsjError(Exception):
    """Base of every error dbsj raises on purpose.

    ``zh`` and ``en`` are the two renderings of the message; ``where`` names the
    place (file, row, field, plug-in, record) and ``hint`` what to do.
    """

    exit_code = 2

    def __init__(self, zh: str, en: str | None = None, *, where: str | None = None,
                 hint_zh: str | None = None, hint_en: str | None = None, **context: Any) -> None:
        self.zh = zh
        self.en = en if en is not None else zh
        self.where = where
        self.hint_zh = hint_zh
        self.hint_en = hint_en if hint_en is not None else hint_zh
        self.context = context
        super().__init__(self.render())

    def render(self, lang: str | None = None) -> str:
        lang = lang or _LANG
        msg = self.zh if lang == "zh" else self.en
        if self.where:
            msg = f"{self.where}: {msg}"
        hint = self.hint_zh if lang == "zh" else self.hint_en
        if hint:
            msg = f"{msg}（{hint}）" if lang == "zh" else f"{msg} ({hint})"
        return msg

    def __str__(self) -> str:
        return self.render()

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form, for ``--json`` output and agency systems."""
        return {
            "error": type(self).__name__,
            "message": self.render(),
            "message_zh": self.render("zh"),
            "message_en": self.render("en"),
            "where": self.where,
            **{k: v for k, v in self.context.items() if _jsonable(v)},
        }


def _jsonable(v: Any) -> bool:
    return isinstance(v, (str, int, float, bool, type(None), list, dict))


class InputError(DbsjError):
    """Bad data or usage: the caller can fix it. CLI exit code 2."""


class IntakeError(InputError):
    """A whole file cannot be read: wrong type, undecodable, empty."""


class MissingColumnError(IntakeError):
    """A required column is absent; the message lists the headers accepted for it."""


class ModelError(InputError, ValueError):
    """A single record (API call, plug-in value) fails validation.

    Every public pydantic model raises it instead of pydantic's ``ValidationError`` (:mod:`dbsj._validation`):
    one line per error, Chinese first, naming the field's label and path and, for a closed vocabulary, the
    accepted values. ``context["errors"]`` holds each error as data (``loc``, ``path``, ``type``, ``accepted``,
    ``zh``, ``en``) and ``context["model"]`` the model's name. It is a ``ValueError`` too, as pydantic's error
    is, so a ``ModelError`` raised inside a validator becomes that field's error.
    """


class PlanError(InputError):
    """A plan file is malformed, or refers to unknown items or departments."""


class RuleError(InputError):
    """A rule pack is malformed; ``where`` is ``file:line``."""


class SeedError(InputError):
    """A seed is malformed, given before its commitment, or inconsistent (beacon)."""


class CalendarError(InputError):
    """A date falls outside every working-day calendar's data; never guessed."""


class ResultError(InputError):
    """A result cannot be recorded: target not drawn, inspector not assigned, bad code or date."""


class StoreError(DbsjError):
    """The store cannot be opened: locked by another writer, or of a newer schema."""


class DrawError(DbsjError):
    """A draw cannot run: the pool cannot be committed, a record exists, nobody is eligible."""


class PluginError(DbsjError):
    """A plug-in failed to load or broke its contract; ``plugin`` names it."""

    def __init__(self, zh: str, en: str | None = None, *, plugin: str, **kw: Any) -> None:
        self.plugin = plugin
        kw.setdefault("where", f"plug-in {plugin}")
        super().__init__(zh, en, plugin=plugin, **kw)


class VerificationError(DbsjError):
    """A record, the ledger or a chain does not re-derive. CLI exit code 1."""

    exit_code = 1
