"""YAML loading that remembers where each value came from, so errors can say file:line.

Plans and rule packs are data: loaded with a safe loader (no tags, no code), then validated by
pydantic. :func:`located_errors` turns a pydantic ``ValidationError`` into messages with file:line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

__all__ = ["LocatedYaml", "load_located_yaml", "located_errors"]


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


def _walk(node: yaml.Node, path: tuple[Any, ...], lines: dict[tuple[Any, ...], int]) -> Any:
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = _scalar(key_node)
            out[key] = _walk(value_node, path + (key,), lines)
            lines[path + (key,)] = key_node.start_mark.line + 1
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_walk(child, path + (i,), lines) for i, child in enumerate(node.value)]
    return _scalar(node)


def _scalar(node: yaml.Node) -> Any:
    loader = yaml.SafeLoader("")
    try:
        return loader.construct_object(node, deep=True)
    except ValueError:
        # e.g. an impossible date such as 2023-02-30: keep the text so validation reports it with its line
        return node.value
    finally:
        loader.dispose()


def load_located_yaml(path: str | Path, error_cls: type[Exception]) -> LocatedYaml:
    """Parse ``path`` safely; a syntax error becomes ``error_cls`` with file:line."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise error_cls(f"找不到文件 {path}", f"file not found: {path}", where=str(path)) from None
    except UnicodeDecodeError:
        raise error_cls("文件不是 UTF-8 编码", "file is not UTF-8 encoded", where=str(path),
                        hint_zh="请以 UTF-8 保存", hint_en="save it as UTF-8") from None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        problem = getattr(exc, "problem", None) or str(exc)
        raise error_cls(f"YAML 语法错误: {problem}", f"YAML syntax error: {problem}", where=where) from None
    lines: dict[tuple[Any, ...], int] = {}
    data = _walk(node, (), lines) if node is not None else None
    return LocatedYaml(path, data, lines)


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
