"""``mapping.yaml``: which files of a department's folder feed which pool, and how their columns read.

::

    department: 卫生健康            # optional: the department column's value where files lack it
    pools:
      targets:
        files: [监管对象.csv]        # paths or glob patterns inside the folder; CSV (UTF-8/GBK) or XLSX
        rename: {单位名称: name}     # header as found -> canonical column (dbsj.POOL_COLUMNS)
        values:                     # canonical column -> {value as found: canonical value}
          credit_class: {低风险: A, 一般风险: B, 较高风险: C, 高风险: D}
        constants: {}               # canonical column -> one value for every row
      inspectors:
        files: [执法人员.xlsx]
        sheet: 在岗人员              # XLSX only; default: the first sheet
    aliases:                        # served by dbsj_header_aliases when DBSJ_TABULAR_FOLDER names this folder
      targets: {被检查单位: name}

Headers not renamed are resolved through :func:`dbsj.header_aliases`; what matches nothing is passed on
and reported by intake as an unknown column. Unknown keys in the file are errors with file:line.
"""

from __future__ import annotations

import glob
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

import dbsj

__all__ = ["MAPPING_FILE", "PoolMapping", "FolderMapping", "load_mapping"]

MAPPING_FILE = "mapping.yaml"
PLUGIN = "tabular"

Kind = Literal["items", "targets", "inspectors"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PoolMapping(_Strict):
    """How one pool is read from the folder."""

    files: tuple[str, ...] = Field(min_length=1, description="paths or glob patterns inside the folder")
    sheet: str | None = Field(None, description="XLSX sheet name (default: the first sheet)")
    rename: dict[str, str] = Field(default_factory=dict, description="header as found -> canonical column")
    values: dict[str, dict[str, str]] = Field(default_factory=dict,
                                              description="canonical column -> {value as found: canonical value}")
    constants: dict[str, str] = Field(default_factory=dict, description="canonical column -> value for every row")


class FolderMapping(_Strict):
    """The whole ``mapping.yaml``."""

    department: str | None = Field(None, description="department of every item and inspector lacking one")
    encoding: str | None = Field(None, description="force a CSV encoding (default: detect UTF-8 / UTF-8-BOM / GB18030)")
    pools: dict[Kind, PoolMapping] = Field(min_length=1)
    aliases: dict[Kind, dict[str, str]] = Field(default_factory=dict)


class LoadedMapping:
    """A validated mapping with its folder and the files each pool resolves to."""

    def __init__(self, folder: Path, path: Path, mapping: FolderMapping, files: dict[str, list[Path]]) -> None:
        self.folder = folder
        self.path = path
        self.mapping = mapping
        self.files = files


def load_mapping(folder: str | Path) -> LoadedMapping:
    """Read and validate ``folder/mapping.yaml``; errors name the plug-in and carry file:line."""
    from dbsj._yaml import load_located_yaml, located_errors

    folder = Path(folder)
    path = folder / MAPPING_FILE
    if not folder.is_dir():
        raise dbsj.PluginError(f"找不到部门数据文件夹 {folder}", f"department folder not found: {folder}", plugin=PLUGIN,
                               hint_zh="用 --option folder=路径 指定", hint_en="give it with --option folder=PATH")

    def error(zh: str, en: str | None = None, *, where: str | None = None, **kw: object) -> dbsj.PluginError:
        return dbsj.PluginError(zh, en, plugin=PLUGIN, where=where or str(path), **kw)

    doc = load_located_yaml(path, error)
    try:
        mapping = FolderMapping.model_validate(doc.data)
    except ValidationError as exc:
        lines = located_errors(doc, exc)
        raise dbsj.PluginError("映射文件无效:\n  " + "\n  ".join(lines), "invalid mapping file:\n  " + "\n  ".join(lines),
                               plugin=PLUGIN, where=str(path), errors=lines) from None
    _check_columns(doc, mapping)
    files: dict[str, list[Path]] = {}
    for kind, pool in mapping.pools.items():
        found: list[Path] = []
        for n, pattern in enumerate(pool.files):
            matches = sorted(Path(p) for p in glob.glob(str(folder / pattern)))
            if not matches:
                raise dbsj.PluginError(f"{kind} 的文件 {pattern!r} 在 {folder} 中不存在",
                                       f"file {pattern!r} of {kind} not found in {folder}", plugin=PLUGIN,
                                       where=doc.where(("pools", kind, "files", n)))
            found.extend(m for m in matches if m not in found)
        files[kind] = found
    return LoadedMapping(folder, path, mapping, files)


def _check_columns(doc, mapping: FolderMapping) -> None:  # noqa: ANN001 - LocatedYaml
    """Every column the mapping names must be a canonical column of its pool (error at its line)."""
    for kind, pool in mapping.pools.items():
        names = sorted(c.name for c in dbsj.POOL_COLUMNS[kind])
        named = ([(("rename", h), c) for h, c in pool.rename.items()]
                 + [(("values", c), c) for c in pool.values] + [(("constants", c), c) for c in pool.constants])
        for (section, key), column in named:
            if column not in names:
                raise dbsj.PluginError(
                    f"pools.{kind}.{section}: {column!r} 不是 {kind} 的列（可选: {', '.join(names)}）",
                    f"pools.{kind}.{section}: {column!r} is not a column of {kind} (columns: {', '.join(names)})",
                    plugin=PLUGIN, where=doc.where(("pools", kind, section, key)))
    for kind, table in mapping.aliases.items():
        names = sorted(c.name for c in dbsj.POOL_COLUMNS[kind])
        for header, column in table.items():
            if column not in names:
                raise dbsj.PluginError(f"aliases.{kind}: {column!r} 不是 {kind} 的列", f"aliases.{kind}: {column!r} "
                                       f"is not a column of {kind}", plugin=PLUGIN, where=doc.where(("aliases", kind, header)))
