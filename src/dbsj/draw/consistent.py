"""``rivest-consistent-2018``: Rivest's consistent_sampler order, sampling without replacement.

Reproduces the order of github.com/ron-rivest/consistent_sampler (MIT, 2018) so that a list can be
cross-checked with a public tool nobody on this project wrote. Written from its published description:

- ``sha256_hex(x)`` = SHA-256 hex of ``str(x)`` in UTF-8;
- ``sha256_uniform(x)`` = ``"0."`` + the decimal digits of ``int(sha256_hex(x), 16)`` (zero-padded to 64)
  in reverse order — a decimal fraction in (0, 1) as text;
- an id's ticket = ``sha256_uniform(sha256_hex(seed) + str(id))``;
- without replacement the ids come out in ascending (ticket text, id) order.

Tickets are compared as text, as upstream does. They are printed at full precision. This algorithm
serves ``dbsj sample`` and single-stratum lists; it is exempt from the SQL hot-path rule.
"""

from __future__ import annotations

import hashlib

__all__ = ["RIVEST_ALGORITHM", "sha256_hex", "sha256_uniform", "first_fraction", "consistent_order", "trim"]

RIVEST_ALGORITHM = "rivest-consistent-2018"


def sha256_hex(value: str) -> str:
    return hashlib.sha256(str(value).encode("utf-8")).hexdigest()


def sha256_uniform(value: str) -> str:
    digits = "{:064d}".format(int(sha256_hex(value), 16))
    return "0." + digits[::-1]


def first_fraction(ident: str, seed: str) -> str:
    return sha256_uniform(sha256_hex(seed) + str(ident))


def trim(ticket_number: str, digits: int = 9) -> str:
    """Truncate a ticket to ``digits`` significant digits after its leading 9s (upstream's display form)."""
    padded = ticket_number + "0"
    first = next(i for i in range(2, len(padded)) if padded[i] < "9")
    return ticket_number[: first + digits]


def consistent_order(ids: list[str], seed: str) -> list[tuple[str, str]]:
    """``(ticket, id)`` for every id, in sampling order (ascending ticket text, then id)."""
    return sorted((first_fraction(i, seed), i) for i in ids)
