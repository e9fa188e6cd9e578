"""Plan loading is linear in size: ``dbsj.load_plan`` on plans of 1, 2, 5 and 10 MiB (the example plan's tasks
repeated under fresh ids), side by side with a bare ``yaml.load`` (libyaml's C loader) of the same file.

Prints one JSON object: seconds per size for the bounded, file:line-keeping loader (YAML only, and YAML plus
pydantic validation) and for the bare loader, and the ratio of the 10 MiB time to the 1 MiB time (linear ≈ 10).
"""

from __future__ import annotations

import json
import re
import sys
import tempfile
import time
from pathlib import Path

import yaml

import dbsj
from dbsj import _yaml

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "xinjiang-2023" / "plan.yaml"
SIZES_MIB = (1, 2, 5, 9.9)


def make_plan(path: Path, mib: float) -> int:
    """Write a plan of about ``mib`` MiB; returns the number of tasks."""
    src = EXAMPLE.read_text(encoding="utf-8")
    head, tasks = src.split("  tasks:\n", 1)
    blocks = [b.strip("\n") for b in re.split(r"\n(?=    - id: )", "\n" + tasks) if b.strip().startswith("- id:")]
    target = int(mib * 1024 * 1024)
    out, size, i = [head + "  tasks:\n"], 0, 0
    while size < target:
        b = re.sub(r"- id: (\S+)", lambda m: f"- id: {m.group(1)}-{i}", blocks[i % len(blocks)], count=1) + "\n"
        out.append(b)
        size += len(b.encode("utf-8"))
        i += 1
    path.write_text("".join(out), encoding="utf-8")
    return i


def _time(fn) -> float:  # noqa: ANN001
    started = time.perf_counter()
    fn()
    return round(time.perf_counter() - started, 3)


def main() -> int:
    result: dict[str, object] = {"libyaml": hasattr(yaml, "CSafeLoader"), "sizes": {}}
    with tempfile.TemporaryDirectory() as d:
        for mib in SIZES_MIB:
            p = Path(d) / f"plan-{mib}.yaml"
            tasks = make_plan(p, mib)
            bare = _time(lambda: yaml.load(p.read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)))
            located = _time(lambda: _yaml.load_located_yaml(p, dbsj.PlanError))
            plan = _time(lambda: dbsj.load_plan(p))
            result["sizes"][f"{mib}MiB"] = {"bytes": p.stat().st_size, "tasks": tasks, "bare_yaml_s": bare,
                                            "located_yaml_s": located, "load_plan_s": plan,
                                            "located_vs_bare": round(located / bare, 2) if bare else None}
    sizes = result["sizes"]
    first, last = sizes[f"{SIZES_MIB[0]}MiB"], sizes[f"{SIZES_MIB[-1]}MiB"]
    result["load_plan_10MiB_over_1MiB"] = round(last["load_plan_s"] / first["load_plan_s"], 2)
    print(json.dumps(result, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
