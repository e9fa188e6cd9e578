"""Where chance comes from: the seed forms of a draw, and how each is checked (docs/draw-spec.md §6).

A draw's commitment names a *seed protocol* before any seed is known; the reveal supplies a seed of that
kind, which is checked against the protocol and turned into the *seed value* that goes into every ticket.

- :class:`BeaconSeed` — a public randomness beacon round (drand). The commitment fixes the chain and the
  exact round, which must fall after the commitment time (round time = genesis + (round − 1) · period).
  The reveal checks randomness = SHA-256(signature): that proves the value is *consistent*, not that the
  beacon produced it — authenticity is checked against the chain's public key out of band (no BLS library
  is used offline here). Seed value: the randomness, lowercase hex.
- :class:`SharesSeed` — every participating department commits SHA-256 of a secret share in the
  commitment and reveals the share afterwards. Seed value: SHA-256 over the length-prefixed
  (department, share) pairs ordered by department (:func:`dbsj.verifier.shares_seed`).
- :class:`DiceSeed` — a string of dice or decimal digits thrown before witnesses after the commitment.
- :class:`DemoSeed` — a text known before the commitment (demos, tests); the record says so.

Beacon values are typed in or read from a file; dbsj never fetches them (offline by design).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from pathlib import Path
from typing import Any

import attrs

from dbsj.errors import SeedError
from dbsj.verifier import beacon_consistent, shares_seed

__all__ = ["BeaconSeed", "SharesSeed", "DiceSeed", "DemoSeed", "Seed", "DRAND_CHAINS", "beacon_round_time",
           "first_round_after", "load_beacon_file", "load_shares_file", "share_commitment"]

#: Known drand chains (public parameters; chain hash, genesis time in Unix seconds, period in seconds).
DRAND_CHAINS: dict[str, dict[str, Any]] = {
    "mainnet": {"chain_hash": "8990e7a9aaed2ffed73dbd7092123d6f289930540d7651336225dc172e51b2ce",
                "genesis_time": 1595431050, "period": 30, "scheme": "pedersen-bls-chained"},
    "quicknet": {"chain_hash": "52db9ba70e0cc0f6eaf7803dd07447a1f5477735fd3f661792ba94600c84e971",
                 "genesis_time": 1692803367, "period": 3, "scheme": "bls-unchained-g1-rfc9380"},
}

_HEX = re.compile(r"^[0-9a-f]+$")


def _chain(name: str) -> tuple[str, dict[str, Any]]:
    for key, params in DRAND_CHAINS.items():
        if name in (key, params["chain_hash"]):
            return key, params
    raise SeedError(f"未知的信标链 {name!r}", f"unknown beacon chain {name!r}",
                    hint_zh=f"可选: {', '.join(DRAND_CHAINS)}", hint_en=f"choose one of: {', '.join(DRAND_CHAINS)}")


def beacon_round_time(chain: str, round_no: int) -> dt.datetime:
    """When a drand round is published: genesis + (round − 1) · period (UTC)."""
    _, p = _chain(chain)
    return dt.datetime.fromtimestamp(p["genesis_time"] + (round_no - 1) * p["period"], dt.timezone.utc)


def first_round_after(chain: str, when: dt.datetime, margin_s: int = 0) -> int:
    """The first round of ``chain`` published strictly after ``when`` + ``margin_s`` seconds."""
    _, p = _chain(chain)
    t = int(when.timestamp()) + margin_s
    return max(1, (t - p["genesis_time"]) // p["period"] + 2)


def share_commitment(share: str) -> str:
    """What a department publishes before the draw: SHA-256 hex of its share's UTF-8 bytes."""
    return hashlib.sha256(share.encode("utf-8")).hexdigest()


@attrs.frozen(slots=True)
class BeaconSeed:
    """A drand round: ``chain`` (name or chain hash), ``round``, ``signature`` and ``randomness`` (hex)."""

    round: int
    signature: str
    randomness: str
    chain: str = "mainnet"

    kind = "beacon"

    def value(self, protocol: dict[str, Any], committed_at: dt.datetime) -> str:
        name, _ = _chain(self.chain)
        sig, rnd = self.signature.strip().lower(), self.randomness.strip().lower()
        if not _HEX.match(sig) or len(sig) % 2 or not _HEX.match(rnd) or len(rnd) != 64:
            raise SeedError("信标签名与随机值应为十六进制", "beacon signature and randomness must be hex",
                            where=f"beacon round {self.round}")
        if not beacon_consistent(sig, rnd):
            raise SeedError("信标随机值不等于签名的 SHA-256，数值不一致",
                            "beacon randomness is not SHA-256(signature): the value is inconsistent",
                            where=f"beacon round {self.round}",
                            hint_zh="核对从信标复制的 signature 与 randomness", hint_en="check the copied signature and randomness")
        if protocol.get("kind") != "beacon":
            raise SeedError(f"承诺约定的随机源为 {protocol.get('kind')}，不是信标",
                            f"the commitment expects a {protocol.get('kind')} seed, not a beacon")
        if name != protocol.get("chain"):
            raise SeedError(f"信标链 {name} 不是承诺约定的 {protocol.get('chain')}",
                            f"beacon chain {name} is not the committed chain {protocol.get('chain')}")
        rt = beacon_round_time(name, self.round)
        if rt <= committed_at:
            raise SeedError(f"信标轮次 {self.round} 发布于 {rt.isoformat()}，早于承诺时间 {committed_at.isoformat()}",
                            f"beacon round {self.round} was published at {rt.isoformat()}, before the commitment "
                            f"({committed_at.isoformat()})", where=f"beacon round {self.round}")
        if self.round != protocol.get("round"):
            raise SeedError(f"信标轮次 {self.round} 不是承诺约定的轮次 {protocol.get('round')}",
                            f"beacon round {self.round} is not the committed round {protocol.get('round')}",
                            hint_zh="必须使用承诺中写明的轮次，不能挑选", hint_en="use exactly the committed round; rounds cannot be chosen")
        return rnd

    def section(self, *, v1: bool = False) -> dict[str, Any]:
        """The kind's fields of the record's seed section (docs/draw-spec.md §6)."""
        name, params = _chain(self.chain)
        if v1:
            return {"beacon": {"chain": name, "round": self.round, "signature": self.signature.strip().lower(),
                               "randomness": self.randomness.strip().lower(),
                               "round_time": beacon_round_time(name, self.round).isoformat(),
                               "checked": "randomness = SHA-256(signature) (consistency, not authenticity)"}}
        return {"beacon": {"chain": name, "chain_hash": params["chain_hash"], "round": self.round,
                           "round_time": beacon_round_time(name, self.round).isoformat(),
                           "signature": self.signature.strip().lower(), "randomness": self.randomness.strip().lower()}}


@attrs.frozen(slots=True)
class SharesSeed:
    """Departments' revealed shares, ``{department: share}``; each must match its committed SHA-256."""

    shares: dict[str, str] = attrs.field(converter=lambda d: dict(sorted(d.items())))

    kind = "shares"

    def value(self, protocol: dict[str, Any], committed_at: dt.datetime) -> str:  # noqa: ARG002
        if protocol.get("kind") != "shares":
            raise SeedError(f"承诺约定的随机源为 {protocol.get('kind')}，不是部门份额",
                            f"the commitment expects a {protocol.get('kind')} seed, not department shares")
        commits: dict[str, str] = protocol.get("commitments", {})
        missing = sorted(set(commits) - set(self.shares))
        extra = sorted(set(self.shares) - set(commits))
        if missing or extra:
            raise SeedError(f"揭示的部门份额与承诺不符: 缺少 {missing}，多出 {extra}",
                            f"revealed shares do not match the committed departments: missing {missing}, extra {extra}")
        for dept, share in self.shares.items():
            if not share:
                raise SeedError(f"部门 {dept} 的份额为空", f"the share of {dept} is empty")
            if share_commitment(share) != commits[dept]:
                raise SeedError(f"部门 {dept} 揭示的份额与其承诺的哈希不符",
                                f"the share revealed by {dept} does not match its committed hash", where=dept)
        return shares_seed(self.shares)

    def section(self, *, v1: bool = False) -> dict[str, Any]:  # noqa: ARG002
        return {"shares": dict(self.shares)}


@attrs.frozen(slots=True)
class DiceSeed:
    """A witnessed dice (or decimal digit) string, thrown after the commitment; spaces are ignored."""

    digits: str
    witnesses: tuple[str, ...] = attrs.field(default=(), converter=tuple)

    kind = "dice"

    def normalised(self) -> str:
        text = re.sub(r"\s+", "", self.digits)
        if not text or not text.isascii() or not text.isdigit():
            raise SeedError(f"骰子种子应为数字串: {self.digits!r}", f"a dice seed must be a string of digits: {self.digits!r}")
        if len(text) < 10:
            raise SeedError(f"骰子种子至少 10 位（现为 {len(text)} 位）", f"a dice seed needs at least 10 digits (got {len(text)})",
                            hint_zh="建议掷 20 个十面骰", hint_en="throw e.g. 20 ten-sided dice")
        return text

    def value(self, protocol: dict[str, Any], committed_at: dt.datetime) -> str:  # noqa: ARG002
        if protocol.get("kind") not in ("dice", "demo"):
            raise SeedError(f"承诺约定的随机源为 {protocol.get('kind')}，不是骰子",
                            f"the commitment expects a {protocol.get('kind')} seed, not dice")
        return self.normalised()

    def known_value(self) -> str:
        """The seed value, known before the commitment when the dice are thrown first (one-shot draws)."""
        return self.normalised()

    def section(self, *, v1: bool = False) -> dict[str, Any]:  # noqa: ARG002
        return {"dice": {"digits": self.normalised(), "witnesses": list(self.witnesses)}}


@attrs.frozen(slots=True)
class DemoSeed:
    """A seed text known before the commitment (demos, tests). The record says so: not a protected draw."""

    text: str

    kind = "demo"

    def value(self, protocol: dict[str, Any], committed_at: dt.datetime) -> str:  # noqa: ARG002
        if not self.text:
            raise SeedError("种子不能为空", "the seed must not be empty")
        if protocol.get("kind") != "demo":
            raise SeedError(f"承诺约定的随机源为 {protocol.get('kind')}，一次性种子只用于演示与测试",
                            f"the commitment expects a {protocol.get('kind')} seed; one-shot seeds are for demos and tests")
        return self.text

    def known_value(self) -> str:
        if not self.text:
            raise SeedError("种子不能为空", "the seed must not be empty")
        return self.text

    def section(self, *, v1: bool = False) -> dict[str, Any]:  # noqa: ARG002
        return {}


Seed = BeaconSeed | SharesSeed | DiceSeed | DemoSeed


def load_beacon_file(path: str | Path, chain: str | None = None) -> BeaconSeed:
    """Read a beacon round saved as JSON (drand's ``/public/<round>`` output, plus optional ``chain``)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8-sig"))
        return BeaconSeed(round=int(data["round"]), signature=str(data["signature"]),
                          randomness=str(data["randomness"]), chain=chain or data.get("chain", "mainnet"))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise SeedError(f"无法读取信标文件: {exc}", f"cannot read beacon file: {exc}", where=str(path),
                        hint_zh="需要 JSON: round、signature、randomness", hint_en="expected JSON with round, signature, randomness") from None


def load_shares_file(path: str | Path) -> SharesSeed:
    """Read departments' reveal shares: JSON ``{"department": "share", …}`` (or under ``"shares"``)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8-sig"))
        data = data.get("shares", data)
        if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
            raise ValueError("expected an object of department → share text")
        return SharesSeed(data)
    except (OSError, ValueError, AttributeError) as exc:
        raise SeedError(f"无法读取份额文件: {exc}", f"cannot read shares file: {exc}", where=str(path)) from None
