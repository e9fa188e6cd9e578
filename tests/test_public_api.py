"""The one public face: everything in __all__ exists, and every public name of a private module is re-exported."""

from __future__ import annotations

import importlib
import pkgutil

import dbsj


def test_all_names_exist():
    missing = [n for n in dbsj.__all__ if not hasattr(dbsj, n)]
    assert missing == []
    assert len(dbsj.__all__) == len(set(dbsj.__all__))


def _faces():
    """Each subpackage's face (its __init__) and each top-level module: what they offer must reach ``dbsj``.

    Leaf modules inside a subpackage are private rooms; their ``__all__`` is for the package itself.
    ``dbsj.verifier`` stands alone by design (standard library only, run as a script), and ``dbsj.testing``
    is the plug-in author's kit, imported as ``dbsj.testing``.
    """
    for info in pkgutil.iter_modules(dbsj.__path__, prefix="dbsj."):
        if info.name in ("dbsj.cli", "dbsj.testing", "dbsj.verifier") or info.name.startswith("dbsj._"):
            continue
        yield importlib.import_module(info.name)


def test_every_error_is_a_dbsj_error():
    errors = importlib.import_module("dbsj.errors")
    for name in errors.__all__:
        obj = getattr(errors, name)
        if isinstance(obj, type):
            assert issubclass(obj, dbsj.DbsjError), name
            assert name in dbsj.__all__, f"{name} not exported from dbsj"


def test_public_classes_and_functions_are_exported():
    """A name a module lists in its own __all__ is reachable from dbsj (httpx's test_exported_members)."""
    public_objects = {id(getattr(dbsj, n)) for n in dbsj.__all__}
    unexported = []
    for module in _faces():
        for name in getattr(module, "__all__", []):
            obj = getattr(module, name)
            if id(obj) not in public_objects and name not in _INTERNAL:
                unexported.append(f"{module.__name__}.{name}")
    assert unexported == []


def test_the_faces_are_checked():
    names = {m.__name__ for m in _faces()}
    assert {"dbsj.draw", "dbsj.intake", "dbsj.rules", "dbsj.lifecycle", "dbsj.assess", "dbsj.store", "dbsj.errors"} <= names


# Names modules share among themselves that users do not need.
_INTERNAL = {
    "LocatedYaml", "load_located_yaml", "located_errors",  # YAML loading with line numbers
    "BEIJING",
    "MIGRATIONS", "SCHEMA_VERSION", "pool_table_ddl",
    "set_digest", "SET_DIGEST_SQL", "EMPTY_DIGEST", "refresh_pool_digest",
    "PROJECT", "columns_of", "natural_key", "PoolKind",
}
