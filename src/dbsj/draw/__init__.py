"""Fair, verifiable draws: tickets, strata, selection, commitment and reveal, records, verification.

Import from ``dbsj``; docs/draws.md is the guide and docs/draw-spec.md the specification.
"""

from dbsj.draw.consistent import RIVEST_ALGORITHM
from dbsj.draw.eligibility import EXCLUSION_REASONS, STRATUM_FIELDS
from dbsj.draw.engine import DrawOptions, DrawRun, commit_draw, draw_plan, draw_task, reveal_draw
from dbsj.draw.records import public_record
from dbsj.draw.sampling import ALGORITHMS, sample_ids
from dbsj.draw.seeds import DRAND_CHAINS, BeaconSeed, DemoSeed, DiceSeed, SharesSeed, beacon_round_time, share_commitment
from dbsj.draw.selection import select_bottom_k
from dbsj.draw.verify import VerificationReport, export_draw_pool, verify_record, verify_records
from dbsj.verifier import ALGORITHM, RECORD_FORMAT, sample_size, set_digest, ticket, ticket_message

__all__ = [
    "ALGORITHM", "RIVEST_ALGORITHM", "ALGORITHMS", "RECORD_FORMAT", "EXCLUSION_REASONS", "STRATUM_FIELDS",
    "DRAND_CHAINS", "DrawOptions", "DrawRun", "commit_draw", "reveal_draw", "draw_plan", "draw_task",
    "verify_record", "verify_records", "VerificationReport", "export_draw_pool", "public_record", "sample_ids", "ticket",
    "ticket_message", "sample_size", "set_digest", "select_bottom_k", "BeaconSeed", "DiceSeed", "SharesSeed",
    "DemoSeed", "share_commitment", "beacon_round_time",
]
