"""Fair, verifiable draws: tickets, strata, selection, commitment and reveal, records, verification, audit.

Import from ``dbsj``; docs/draws.md is the guide and docs/draw-spec.md the specification.
"""

from dbsj.draw.audit import audit_draws
from dbsj.draw.consistent import RIVEST_ALGORITHM
from dbsj.draw.eligibility import EXCLUSION_REASONS, STRATUM_FIELDS
from dbsj.draw.records import public_record
from dbsj.draw.engine import DrawOptions, DrawRun, commit_draw, confidential_fields, draw_plan, draw_task, reveal_draw
from dbsj.draw.sampling import ALGORITHMS, sample_ids
from dbsj.draw.seeds import DRAND_CHAINS, BeaconSeed, DemoSeed, DiceSeed, SharesSeed, beacon_round_time, share_commitment
from dbsj.draw.selection import select_bottom_k
from dbsj.draw.verify import VerificationReport, export_draw_pool, verify_record, verify_records
from dbsj.verifier import (
    ALGORITHM,
    ALGORITHM_V1,
    COMMITMENT_FORMAT,
    RECORD_FORMAT,
    RECORD_FORMAT_V1,
    batch_key,
    eligible_root,
    eligible_salt,
    sample_size,
    set_digest,
    stratum_digest,
    stratum_key,
    ticket,
    ticket_message,
    ticket_v2,
)

__all__ = [
    "ALGORITHM", "ALGORITHM_V1", "RIVEST_ALGORITHM", "ALGORITHMS", "RECORD_FORMAT", "RECORD_FORMAT_V1",
    "COMMITMENT_FORMAT", "EXCLUSION_REASONS", "STRATUM_FIELDS", "DRAND_CHAINS", "DrawOptions", "DrawRun",
    "commit_draw", "reveal_draw", "draw_plan", "draw_task", "verify_record", "verify_records", "VerificationReport",
    "export_draw_pool", "public_record", "sample_ids", "ticket", "ticket_message", "ticket_v2", "stratum_key",
    "batch_key", "eligible_salt", "stratum_digest", "eligible_root", "sample_size", "set_digest", "select_bottom_k",
    "BeaconSeed", "DiceSeed", "SharesSeed", "DemoSeed", "share_commitment", "beacon_round_time", "audit_draws",
    "confidential_fields",
]
