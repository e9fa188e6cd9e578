"""The store (DuckDB file, schema, migrations) and the hash-chained ledger."""

from dbsj.store.ledger import GENESIS, Ledger, LedgerEntry
from dbsj.store.store import Store, default_db_path

__all__ = ["Store", "default_db_path", "Ledger", "LedgerEntry", "GENESIS"]
