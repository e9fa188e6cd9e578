"""The ``tabular`` plug-in: hook implementations (entry point ``dbsj_tabular.plugin``).

``dbsj pool pull items --plugin tabular --option folder=PATH`` reads ``PATH/mapping.yaml`` and the files
it names. ``dbsj_header_aliases`` serves headers common in department exports, plus the ``aliases:``
of the mapping in ``$DBSJ_TABULAR_FOLDER`` when that variable is set (so ``dbsj pool import`` of the
same department's files understands its headers too).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping

import pyarrow as pa

import dbsj
from dbsj_tabular.mapping import PLUGIN, load_mapping
from dbsj_tabular.reader import read_pool

FOLDER_ENV = "DBSJ_TABULAR_FOLDER"

#: Headers met in department (not market-regulation) exports that dbsj's own table lacks.
DEPARTMENT_ALIASES: dict[str, dict[str, str]] = {
    "items": {"事项编号": "code", "事项名": "name", "实施主体": "subject", "设定依据": "basis", "检查对象范围": "target_kinds"},
    "targets": {"被检查单位名称": "name", "监管对象名称": "name", "单位统一社会信用代码": "uscc",
                "风险分级": "credit_class", "信用风险分级": "credit_class", "行政区划编码": "region",
                "登记注册日期": "established", "企业类别": "entity_kind", "所属监管所": "office"},
    "inspectors": {"执法证号码": "certificate_no", "证件到期日": "certificate_expiry", "所属科室": "unit",
                   "可检查事项": "item_scope", "是否为专家": "expert", "在岗状态": "status", "申报回避单位": "conflicts"},
}


def _provide(kind: str, options: Mapping[str, str]) -> Iterator[pa.RecordBatch] | None:
    unknown = sorted(set(options) - {"folder"})
    if unknown:
        raise dbsj.PluginError(f"未知选项 {', '.join(unknown)}（可用: folder）",
                               f"unknown option(s) {', '.join(unknown)} (known: folder)", plugin=PLUGIN)
    folder = options.get("folder") or os.environ.get(FOLDER_ENV)
    if not folder:
        raise dbsj.PluginError("需要部门数据文件夹", "a department folder is needed", plugin=PLUGIN,
                               hint_zh=f"--option folder=路径，或设置 {FOLDER_ENV}",
                               hint_en=f"--option folder=PATH, or set {FOLDER_ENV}")
    loaded = load_mapping(folder)
    if kind not in loaded.mapping.pools:
        return None
    return read_pool(kind, loaded)


@dbsj.hookimpl
def dbsj_provide_items(options: Mapping[str, str]) -> Iterator[pa.RecordBatch] | None:
    """The folder's item list, when its mapping has ``pools.items``."""
    return _provide("items", options)


@dbsj.hookimpl
def dbsj_provide_targets(options: Mapping[str, str]) -> Iterator[pa.RecordBatch] | None:
    """The folder's targets, when its mapping has ``pools.targets``."""
    return _provide("targets", options)


@dbsj.hookimpl
def dbsj_provide_inspectors(options: Mapping[str, str]) -> Iterator[pa.RecordBatch] | None:
    """The folder's inspectors, when its mapping has ``pools.inspectors``."""
    return _provide("inspectors", options)


@dbsj.hookimpl
def dbsj_header_aliases() -> Mapping[str, Mapping[str, str]]:
    """Department headers, plus the ``aliases:`` of ``$DBSJ_TABULAR_FOLDER/mapping.yaml`` when set."""
    table = {kind: dict(aliases) for kind, aliases in DEPARTMENT_ALIASES.items()}
    folder = os.environ.get(FOLDER_ENV)
    if folder:
        for kind, aliases in load_mapping(folder).mapping.aliases.items():
            table.setdefault(kind, {}).update(aliases)
    return table
