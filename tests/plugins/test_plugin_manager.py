"""The plug-in manager over real entry points: broken and misspelt plug-ins are named, plug-ins can be disabled."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

import dbsj
from dbsj.cli import main

sys.path.insert(0, str(Path(__file__).parent))
from throwaway import make_distribution  # noqa: E402


def test_broken_plugin_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    make_distribution(tmp_path, "dbsj_broken_dept", "raise RuntimeError('database driver missing')\n",
                      entry_name="broken")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(dbsj.PluginError) as err:
        dbsj.PluginManager()
    assert err.value.plugin == "broken"
    assert "database driver missing" in str(err.value)
    assert "DBSJ_DISABLE_PLUGINS=broken" in str(err.value)  # the hint says how to get going again


def test_misspelt_hook_is_an_error_naming_the_plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    make_distribution(tmp_path, "dbsj_typo_dept", """
        import dbsj

        @dbsj.hookimpl
        def dbsj_provide_target(options):  # should be dbsj_provide_targets
            return None
    """, entry_name="typo")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(dbsj.PluginError) as err:
        dbsj.PluginManager()
    assert err.value.plugin == "typo"
    assert "dbsj_provide_target" in str(err.value)


def test_disable_by_name_skips_broken_and_real_plugins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    make_distribution(tmp_path, "dbsj_broken_dept", "raise ImportError('nope')\n", entry_name="broken")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("DBSJ_DISABLE_PLUGINS", "broken, xinjiang")
    pm = dbsj.PluginManager()
    assert "broken" not in pm.names() and "xinjiang" not in pm.names()
    assert "tabular" in pm.names()


def test_a_working_throwaway_plugin_is_loaded_with_its_version(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    make_distribution(tmp_path, "dbsj_tiny_dept", """
        import dbsj

        @dbsj.hookimpl
        def dbsj_workday(day):
            return None
    """, version="3.1.4", entry_name="tiny")
    monkeypatch.syspath_prepend(str(tmp_path))
    info = {p["name"]: p for p in dbsj.PluginManager().describe()}
    assert info["tiny"] == {"name": "tiny", "version": "3.1.4", "hooks": ["dbsj_workday"]}


def test_a_hook_that_raises_is_reported_with_the_plugin_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    make_distribution(tmp_path, "dbsj_failing_dept", """
        import dbsj

        @dbsj.hookimpl
        def dbsj_provide_targets(options):
            raise KeyError("column 统一社会信用代码")
    """, entry_name="failing")
    monkeypatch.syspath_prepend(str(tmp_path))
    pm = dbsj.PluginManager()
    dbsj.reset_plugin_manager(pm)
    with dbsj.Store(":memory:") as store, pytest.raises(dbsj.PluginError) as err:
        dbsj.pull_pool(store, "targets", "failing")
    assert err.value.plugin == "failing" and "统一社会信用代码" in str(err.value)


def test_cli_plugins_json_lists_both_real_plugins(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plugins", "--json"]) == 0
    listed = {p["name"]: p for p in json.loads(capsys.readouterr().out)}
    assert listed["xinjiang"]["version"] == "0.1.0"
    assert listed["tabular"]["version"] == "0.1.0"
    assert set(listed["xinjiang"]["hooks"]) == {"dbsj_provide_items", "dbsj_provide_targets",
                                                "dbsj_provide_inspectors", "dbsj_workday"}
    assert "dbsj_header_aliases" in listed["tabular"]["hooks"]


def test_cli_plugins_json_honours_disable(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DBSJ_DISABLE_PLUGINS", "tabular")
    dbsj.reset_plugin_manager(None)
    assert main(["plugins", "--json"]) == 0
    names = [p["name"] for p in json.loads(capsys.readouterr().out)]
    assert "tabular" not in names and "xinjiang" in names
