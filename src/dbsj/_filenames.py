"""Names that become parts of file names (task ids, authorities, labels), and paths that must stay inside
the folder the user named with ``--out``.

A value becomes a *file stem* by keeping letters, digits, ``_``, ``.`` and ``-`` (any script: 新疆 stays) and
turning every other character into ``_``. It is refused — before anything is written — when it is empty,
longer than :data:`MAX_STEM_BYTES` UTF-8 bytes, starts with ``.``, or holds a control, bidi-override or
other invisible formatting character. Two values of one step whose stems coincide (``T/1`` and ``T_1``, or
``Ab`` and ``aB`` on a case-insensitive file system) are refused together, naming both.
"""

from __future__ import annotations

import os
import re
import unicodedata
from collections.abc import Iterable
from pathlib import Path

from dbsj.errors import InputError

__all__ = ["MAX_STEM_BYTES", "file_stem", "distinct_stems", "inside", "unsafe_characters"]

#: Longest file stem dbsj makes from a value (bytes of UTF-8), leaving room for suffixes on every file system.
MAX_STEM_BYTES = 100

_KEEP = re.compile(r"[^\w.\-]")


def unsafe_characters(value: str) -> list[str]:
    """Control characters (Cc), formatting characters such as bidi overrides and zero-width marks (Cf),
    line and paragraph separators (Zl, Zp) and unassigned or private code points found in ``value``."""
    bad = []
    for ch in value:
        if unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp", "Co", "Cn", "Cs"):
            bad.append(f"U+{ord(ch):04X}")
    return bad


def file_stem(value: str, *, what: str) -> str:
    """The file stem of ``value`` (see the module docstring); :class:`InputError` naming ``what`` otherwise."""
    if not isinstance(value, str) or not value.strip():
        raise InputError(f"{what} 为空，不能用作文件名", f"{what} is empty and cannot name a file", where=what)
    bad = unsafe_characters(value)
    if bad:
        raise InputError(f"{what} {value!r} 含有控制或不可见字符（{', '.join(bad[:5])}）",
                         f"{what} {value!r} contains control or invisible characters ({', '.join(bad[:5])})",
                         where=what, hint_zh="去掉这些字符", hint_en="remove those characters")
    stem = _KEEP.sub("_", unicodedata.normalize("NFC", value))
    if stem.startswith("."):
        raise InputError(f"{what} {value!r} 以“.”开头，不能用作文件名", f"{what} {value!r} starts with '.' and cannot name a file",
                         where=what)
    size = len(stem.encode("utf-8"))
    if size > MAX_STEM_BYTES:
        raise InputError(f"{what} 过长（{size} 字节，上限 {MAX_STEM_BYTES}），不能用作文件名",
                         f"{what} is too long ({size} bytes, at most {MAX_STEM_BYTES}) to name a file",
                         where=what, hint_zh="使用更短的编号或名称", hint_en="use a shorter id or name")
    return stem


def distinct_stems(values: Iterable[str], *, what: str) -> dict[str, str]:
    """``value → stem`` for every value; refuses values whose stems coincide (case-insensitively)."""
    out: dict[str, str] = {}
    seen: dict[str, str] = {}
    for value in values:
        stem = file_stem(value, what=what)
        key = stem.casefold()
        if key in seen and seen[key] != value:
            raise InputError(f"{what} {seen[key]!r} 与 {value!r} 会得到同一个文件名 {stem!r}",
                             f"{what} {seen[key]!r} and {value!r} map to the same file name {stem!r}",
                             where=what, hint_zh="使编号在去掉特殊字符、忽略大小写后仍互不相同",
                             hint_en="make them differ after special characters are replaced and case is ignored")
        seen[key] = value
        out[value] = stem
    return out


def inside(base: str | os.PathLike[str], path: str | os.PathLike[str]) -> Path:
    """``path`` resolved; :class:`InputError` if it is not inside ``base`` (symlinks and ``..`` resolved)."""
    root = Path(base).resolve()
    full = Path(path).resolve()
    if full != root and root not in full.parents:
        raise InputError(f"输出路径 {path} 不在输出目录 {base} 之内", f"output path {path} is outside the output folder {base}",
                         where=str(path), hint_zh="检查名称中的路径字符", hint_en="check the name for path characters")
    return full
