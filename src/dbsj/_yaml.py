"""YAML loading that remembers where each value came from, so errors can say file:line — and that a hostile
file cannot hang, exhaust or crash.

Plans and rule packs are data. They are read as a stream of parser events (libyaml's C parser when PyYAML has
it), and the values are built here without recursion, so that every bound is checked as the file is read:

- **size**: at most :data:`MAX_YAML_BYTES` (10 MiB; ``DBSJ_MAX_YAML_BYTES`` or ``max_bytes`` changes it);
- **nesting**: at most :data:`MAX_DEPTH` levels of mappings and sequences;
- **aliases**: an alias may not name an anchor whose node is still open (a recursive anchor), and the values
  that aliases add may not exceed :data:`MAX_ALIAS_VALUES` or the number of values written out in the file,
  whichever is larger — so a "billion laughs" stops at once, and loading stays linear in the file's size;
- **values**: at most :data:`MAX_VALUES` after alias expansion;
- **one document**, string keys or other scalars only, no duplicate keys, no tags beyond YAML's own scalar,
  sequence and mapping tags (a rule file never names a Python type).

Merge keys (``<<: *defaults``) work as in PyYAML: keys written in the mapping win over merged ones.
:func:`located_errors` turns a pydantic ``ValidationError`` into messages with file:line.
"""

from __future__ import annotations

import copy
import gc
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

__all__ = ["LocatedYaml", "load_located_yaml", "located_errors", "gc_paused", "MAX_YAML_BYTES", "MAX_DEPTH",
           "MAX_VALUES", "MAX_ALIAS_VALUES"]

#: Largest plan or rule file read (bytes); ``DBSJ_MAX_YAML_BYTES`` overrides it.
MAX_YAML_BYTES = 10 * 1024 * 1024
#: Deepest nesting of mappings and sequences (a plan needs about 7).
MAX_DEPTH = 64
#: Most values (scalars, mappings, sequences) one file may hold after alias expansion.
MAX_VALUES = 2_000_000
#: Values aliases may add in any file; beyond it, no more than the file writes out itself.
MAX_ALIAS_VALUES = 100_000

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_MERGE = "tag:yaml.org,2002:merge"
_SCALAR_TAGS = {f"tag:yaml.org,2002:{t}" for t in ("str", "int", "float", "bool", "null", "timestamp", "binary")}
_SEQ_TAG, _MAP_TAG, _STR_TAG = "tag:yaml.org,2002:seq", "tag:yaml.org,2002:map", "tag:yaml.org,2002:str"


class LocatedYaml:
    """Parsed YAML plus a map from a value's path (tuple of keys/indices) to its 1-based line."""

    def __init__(self, path: Path, data: Any, lines: dict[tuple[Any, ...], int]) -> None:
        self.path = path
        self.data = data
        self.lines = lines

    def line_of(self, loc: tuple[Any, ...]) -> int | None:
        """The line of the deepest known prefix of ``loc``."""
        loc = tuple(loc)
        while loc:
            if loc in self.lines:
                return self.lines[loc]
            loc = loc[:-1]
        return self.lines.get((), None)

    def where(self, loc: tuple[Any, ...]) -> str:
        line = self.line_of(loc)
        return f"{self.path}:{line}" if line else str(self.path)


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a file's values are built and validated: they form no cycles,
    and collections triggered by millions of new objects would make loading grow faster than the file."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _limit() -> int:
    raw = os.environ.get("DBSJ_MAX_YAML_BYTES")
    if raw and raw.strip().isdigit() and int(raw) > 0:
        return int(raw)
    return MAX_YAML_BYTES


def _mib(n: int) -> str:
    return f"{n / (1024 * 1024):g} MiB"


class _Frame:
    __slots__ = ("kind", "value", "path", "line", "anchor", "key", "key_line", "has_key", "start", "merges", "lines_of")

    def __init__(self, kind: str, path: tuple[Any, ...], line: int, anchor: str | None, start: int) -> None:
        self.kind = kind
        self.value: Any = {} if kind == "map" else []
        self.path = path
        self.line = line
        self.anchor = anchor
        self.key: Any = None
        self.key_line = 0
        self.has_key = False
        self.start = start
        self.merges: list[tuple[Any, int]] = []
        self.lines_of: dict[Any, int] = {}


class _Builder:
    """Values from parser events, with every bound checked as they arrive."""

    def __init__(self, path: Path, error_cls: type[Exception]) -> None:
        self.path = path
        self.error_cls = error_cls
        self.lines: dict[tuple[Any, ...], int] = {}
        self.anchors: dict[str, tuple[Any, int]] = {}
        self.open_anchors: set[str] = set()
        self.values = 0  # every value, aliases expanded
        self.alias_values = 0  # values added by aliases
        self.stack: list[_Frame] = []
        self.root: Any = None
        self.has_root = False

    def fail(self, line: int | None, zh: str, en: str, hint_zh: str | None = None, hint_en: str | None = None) -> Exception:
        where = f"{self.path}:{line}" if line else str(self.path)
        return self.error_cls(zh, en, where=where, hint_zh=hint_zh, hint_en=hint_en)

    # -- where the next value goes ----------------------------------------------------------------
    def child_path(self, line: int) -> tuple[tuple[Any, ...], int, bool]:
        """(path, line to record, is a key) of the value that starts now."""
        if not self.stack:
            return (), line, False
        top = self.stack[-1]
        if top.kind == "seq":
            return top.path + (len(top.value),), line, False
        if not top.has_key:
            return top.path, line, True
        return top.path + (top.key,), top.key_line, False

    def count(self, n: int, line: int) -> None:
        self.values += n
        if self.values > MAX_VALUES:
            raise self.fail(line, f"YAML 文件的值过多（超过 {MAX_VALUES} 个，含别名展开）",
                            f"the YAML file holds too many values (more than {MAX_VALUES}, aliases expanded)",
                            "拆分文件或去掉重复的别名", "split the file or remove repeated aliases")

    def attach(self, value: Any, line: int, size: int) -> None:
        if not self.stack:
            self.root = value
            self.has_root = True
            return
        top = self.stack[-1]
        if top.kind == "seq":
            top.value.append(value)
            return
        if not top.has_key:
            if isinstance(value, (dict, list)):
                raise self.fail(line, "映射的键不能是映射或列表", "a mapping key cannot be a mapping or a list")
            try:
                hash(value)
            except TypeError:
                raise self.fail(line, "映射的键必须是简单值", "a mapping key must be a simple value") from None
            top.key, top.key_line, top.has_key = value, line, True
            return
        key = top.key
        top.has_key = False
        if key is _MERGE_KEY:
            top.merges.append((value, top.key_line))
            return
        if key in top.value:
            raise self.fail(top.key_line, f"重复的键 {key!r}（第一次出现在第 {top.lines_of[key]} 行）",
                            f"duplicate key {key!r} (first at line {top.lines_of[key]})",
                            "删除或合并其中一个", "remove or merge one of them")
        top.value[key] = value
        top.lines_of[key] = top.key_line

    # -- events -------------------------------------------------------------------------------------
    def start(self, kind: str, event: Any) -> None:
        line = event.start_mark.line + 1
        tag = event.tag
        want = _MAP_TAG if kind == "map" else _SEQ_TAG
        if tag not in (None, "!", want):
            raise self.fail(line, f"不允许的 YAML 标签 {tag}（规则与计划文件只是数据）",
                            f"YAML tag {tag} is not allowed (rule and plan files are data)")
        path, rec_line, is_key = self.child_path(line)
        if is_key:
            raise self.fail(line, "映射的键不能是映射或列表", "a mapping key cannot be a mapping or a list")
        if len(self.stack) >= MAX_DEPTH:
            raise self.fail(line, f"嵌套过深（超过 {MAX_DEPTH} 层）", f"nested too deeply (more than {MAX_DEPTH} levels)",
                            "计划和规则文件只需几层嵌套；检查缩进与括号", "plans and rule files need a few levels; check indentation and brackets")
        self.lines[path] = rec_line
        self.count(1, line)
        anchor = event.anchor
        if anchor is not None:
            self.open_anchors.add(anchor)
        self.stack.append(_Frame(kind, path, rec_line, anchor, self.values))

    def end(self) -> None:
        frame = self.stack.pop()
        if frame.kind == "map" and frame.merges:
            self.merge(frame)
        size = self.values - frame.start + 1
        if frame.anchor is not None:
            self.open_anchors.discard(frame.anchor)
            self.anchors[frame.anchor] = (frame.value, size)
        self.attach(frame.value, frame.line, size)

    def merge(self, frame: _Frame) -> None:
        merged: dict[Any, Any] = {}
        for value, line in frame.merges:
            sources = value if isinstance(value, list) else [value]
            for src in sources:
                if not isinstance(src, dict):
                    raise self.fail(line, "合并键 << 的值必须是映射或映射的列表",
                                    "the value of a merge key << must be a mapping or a list of mappings")
                for k, v in src.items():
                    if k not in merged:
                        merged[k] = v
        for k, v in merged.items():
            if k not in frame.value:
                frame.value[k] = v
                self.lines.setdefault(frame.path + (k,), frame.merges[0][1])

    def scalar(self, event: Any, loader: Any) -> None:
        line = event.start_mark.line + 1
        path, rec_line, is_key = self.child_path(line)
        tag = event.tag
        if tag in (None, "!"):
            tag = loader.resolve(yaml.ScalarNode, event.value, event.implicit) if tag is None else "tag:yaml.org,2002:str"
        if tag == _MERGE and is_key:
            self.count(1, line)
            self.attach(_MERGE_KEY, line, 1)
            return
        if tag not in _SCALAR_TAGS:
            raise self.fail(line, f"不允许的 YAML 标签 {tag}（规则与计划文件只是数据）",
                            f"YAML tag {tag} is not allowed (rule and plan files are data)")
        if tag == _STR_TAG:
            value = event.value
        else:
            node = yaml.ScalarNode(tag, event.value, event.start_mark, event.end_mark, event.style)
            try:
                value = loader.yaml_constructors[tag](loader, node)
            except (ValueError, yaml.YAMLError, OverflowError):
                # e.g. an impossible date such as 2023-02-30: keep the text so validation reports it with its line
                value = event.value
        if not is_key:
            self.lines[path] = rec_line
        self.count(1, line)
        if event.anchor is not None:
            self.anchors[event.anchor] = (value, 1)
        self.attach(value, line, 1)

    def alias(self, event: Any) -> None:
        line = event.start_mark.line + 1
        name = event.anchor
        if name in self.open_anchors:
            raise self.fail(line, f"别名 *{name} 指向包含它自身的锚点（递归别名）",
                            f"alias *{name} refers to an anchor that contains it (a recursive alias)",
                            "去掉递归引用", "remove the recursive reference")
        if name not in self.anchors:
            raise self.fail(line, f"别名 *{name} 没有对应的锚点 &{name}", f"alias *{name} has no anchor &{name}")
        value, size = self.anchors[name]
        self.alias_values += size
        if self.alias_values > max(MAX_ALIAS_VALUES, MAX_VALUES // 2):
            raise self._alias_bomb(line)
        self.count(size, line)
        path, rec_line, is_key = self.child_path(line)
        if not is_key:
            self.lines[path] = rec_line
        # A copy: callers may change what they loaded, and one alias must not change another.
        self.attach(copy.deepcopy(value) if isinstance(value, (dict, list)) else value, line, size)

    def _alias_bomb(self, line: int | None) -> Exception:
        return self.fail(line, f"别名展开过多: 别名共展开 {self.alias_values} 个值，超过上限"
                               f"（{MAX_ALIAS_VALUES} 个，或文件本身写出的值的个数）——疑似“十亿笑声”式的别名炸弹",
                         f"aliases expand too much: they add {self.alias_values} values, beyond the limit "
                         f"({MAX_ALIAS_VALUES}, or as many values as the file writes out itself) — an alias bomb "
                         "(\"billion laughs\")?",
                         "把重复的内容直接写出，或减少别名", "write repeated content out, or use fewer aliases")

    def finish(self) -> None:
        literal = self.values - self.alias_values
        if self.alias_values > max(MAX_ALIAS_VALUES, literal):
            raise self._alias_bomb(None)


_MERGE_KEY = object()


def _read(path: Path, error_cls: type[Exception], limit: int) -> str:
    def fail(zh: str, en: str, hint_zh: str | None = None, hint_en: str | None = None) -> Exception:
        return error_cls(zh, en, where=str(path), hint_zh=hint_zh, hint_en=hint_en)

    try:
        if not path.is_file():
            if path.exists():
                raise fail("不是普通文件（目录、设备或管道）", "not a regular file (a directory, device or pipe)")
            raise fail(f"找不到文件 {path}", f"file not found: {path}")
        size = path.stat().st_size
        if size > limit:
            raise fail(f"文件过大: {size} 字节，上限 {limit} 字节（{_mib(limit)}）",
                       f"file too large: {size} bytes, the limit is {limit} bytes ({_mib(limit)})",
                       "计划和规则文件通常只有几十 KB；确认文件无误，必要时设置 DBSJ_MAX_YAML_BYTES",
                       "plans and rule files are usually tens of KB; check the file, or set DBSJ_MAX_YAML_BYTES")
        with open(path, "rb") as fh:
            raw = fh.read(limit + 1)
    except OSError as exc:
        raise fail(f"无法读取文件: {exc.strerror or exc}", f"cannot read the file: {exc.strerror or exc}") from None
    if len(raw) > limit:  # the file grew while being read
        raise fail(f"文件过大: 超过 {limit} 字节（{_mib(limit)}）", f"file too large: more than {limit} bytes ({_mib(limit)})")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise fail("文件不是 UTF-8 编码", "file is not UTF-8 encoded", "请以 UTF-8 保存", "save it as UTF-8") from None


def load_located_yaml(path: str | Path, error_cls: type[Exception], *, max_bytes: int | None = None) -> LocatedYaml:
    """Parse ``path`` safely within the bounds above; any problem becomes ``error_cls`` with file:line."""
    path = Path(path)
    text = _read(path, error_cls, max_bytes or _limit())
    builder = _Builder(path, error_cls)
    loader = _Loader(text)
    with gc_paused():
        _run(loader, builder, path, error_cls)
    builder.finish()
    return LocatedYaml(path, builder.root, builder.lines if builder.has_root else {})


def _run(loader: Any, builder: _Builder, path: Path, error_cls: type[Exception]) -> None:
    documents = 0
    on_event = {
        yaml.ScalarEvent: lambda e: builder.scalar(e, loader),
        yaml.MappingStartEvent: lambda e: builder.start("map", e),
        yaml.SequenceStartEvent: lambda e: builder.start("seq", e),
        yaml.MappingEndEvent: lambda e: builder.end(),
        yaml.SequenceEndEvent: lambda e: builder.end(),
        yaml.AliasEvent: builder.alias,
    }
    try:
        while True:
            event = loader.get_event()
            handle = on_event.get(type(event))
            if handle is not None:
                handle(event)
            elif isinstance(event, yaml.DocumentStartEvent):
                documents += 1
                if documents > 1:
                    raise builder.fail(event.start_mark.line + 1, "文件只能包含一个 YAML 文档（发现第二个 ---）",
                                       "the file must hold one YAML document (found a second ---)")
            elif isinstance(event, yaml.StreamEndEvent):
                break
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        problem = getattr(exc, "problem", None) or str(exc)
        if "nesting depth" in problem:  # libyaml's own bound (1000 levels) met before ours
            raise error_cls(f"嵌套过深（超过 {MAX_DEPTH} 层）", f"nested too deeply (more than {MAX_DEPTH} levels)",
                            where=where) from None
        raise error_cls(f"YAML 语法错误: {problem}", f"YAML syntax error: {problem}", where=where) from None
    finally:
        loader.dispose()


def located_errors(doc: LocatedYaml, exc: ValidationError, *, prefix: tuple[Any, ...] = ()) -> list[str]:
    """Render each pydantic error as ``file:line: field: message``."""
    out = []
    for err in exc.errors():
        loc = prefix + tuple(err["loc"])
        field = ".".join(str(p) for p in loc) or "(top)"
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = "unknown key / 未知的键"
        out.append(f"{doc.where(loc)}: {field}: {msg}")
    return out
