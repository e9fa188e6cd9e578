"""dbsj-xinjiang: a deterministic synthetic Xinjiang for dbsj (entry point ``xinjiang``).

Everything here is synthetic: names of enterprises and people are assembled from parts, USCCs are
well-formed (check digits per GB 32100 and GB 11714) but belong to nobody. Same options, same bytes.
"""

from dbsj_xinjiang.generate import DEFAULT_SEED, DEFAULT_TARGETS, DEFAULT_YEAR, SyntheticOptions, generate

__version__ = "0.1.0"
__all__ = ["generate", "SyntheticOptions", "DEFAULT_SEED", "DEFAULT_TARGETS", "DEFAULT_YEAR", "__version__"]
