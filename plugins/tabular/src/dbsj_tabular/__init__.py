"""dbsj-tabular: a department's folder of CSV/XLSX exports plus ``mapping.yaml`` → items, targets, inspectors.

Entry point ``tabular``; option ``folder=PATH``. See docs/plugins.md ("The tabular adapter").
"""

from dbsj_tabular.mapping import MAPPING_FILE, FolderMapping, PoolMapping, load_mapping
from dbsj_tabular.reader import read_pool

__version__ = "0.1.0"
__all__ = ["load_mapping", "FolderMapping", "PoolMapping", "MAPPING_FILE", "read_pool", "__version__"]
