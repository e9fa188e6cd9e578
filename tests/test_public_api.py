"""The one public face: everything in __all__ exists, and every public name of a private module is re-exported."""

from __future__ import annotations

import importlib
import pkgutil

import dbsj


def test_all_names_exist():
    missing = [n for n in dbsj.__all__ if not hasattr(dbsj, n)]
    assert missing == []
    assert len(dbsj.__all__) == len(set(dbsj.__all__))


def _private_modules():
    for info in pkgutil.walk_packages(dbsj.__path__, prefix="dbsj."):
        name = info.name
        if ".cli" in name or name.endswith("__main__") or ".testing" in name or "migrations" in name:
            continue
        yield importlib.import_module(name)


def test_every_error_is_a_dbsj_error():
    errors = importlib.import_module("dbsj.errors")
    for name in errors.__all__:
        obj = getattr(errors, name)
        if isinstance(obj, type):
            assert issubclass(obj, dbsj.DbsjError), name
            assert name in dbsj.__all__, f"{name} not exported from dbsj"


def test_public_classes_and_functions_are_exported():
    """A name a module lists in its own __all__ is reachable from dbsj (httpx's test_exported_members)."""
    unexported = []
    for module in _private_modules():
        for name in getattr(module, "__all__", []):
            obj = getattr(module, name)
            if getattr(dbsj, name, None) is not obj and name not in _INTERNAL:
                unexported.append(f"{module.__name__}.{name}")
    assert unexported == []


# Names modules share among themselves that users do not need.
_INTERNAL = {
    "LocatedYaml", "load_located_yaml", "located_errors",  # YAML loading with line numbers
    "BEIJING",
    "MIGRATIONS", "SCHEMA_VERSION", "pool_table_ddl",
    "set_digest", "SET_DIGEST_SQL", "EMPTY_DIGEST", "refresh_pool_digest",
    "PROJECT", "columns_of", "natural_key", "PoolKind",
}
