"""Run every benchmark (``bench_*.py`` beside this file) and collect their JSON into one document.

Each benchmark prints one JSON object on stdout and compares its subject side by side with a baseline
measured in the same run (ratios), because these machines are shared and noisy. Results are printed and
written to ``bench-results/results.json``. ``python benchmarks/run.py draw rules`` runs a subset.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(argv: list[str]) -> int:
    scripts = sorted(HERE.glob("bench_*.py"))
    if argv:
        scripts = [s for s in scripts if any(a in s.stem for a in argv)]
    results: dict[str, object] = {}
    failed = 0
    for script in scripts:
        print(f"== {script.stem}", file=sys.stderr, flush=True)
        started = time.perf_counter()
        proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True)
        elapsed = round(time.perf_counter() - started, 2)
        if proc.returncode != 0:
            failed += 1
            results[script.stem] = {"error": proc.stderr.strip().splitlines()[-5:], "elapsed_s": elapsed}
            print(proc.stderr, file=sys.stderr)
            continue
        lines = [ln for ln in proc.stdout.strip().splitlines() if ln.strip()]
        try:
            results[script.stem] = json.loads(lines[-1]) if lines else {}
        except json.JSONDecodeError:
            results[script.stem] = {"output": lines[-5:]}
        print(json.dumps({script.stem: results[script.stem]}, ensure_ascii=False), flush=True)
    out = HERE.parent / "bench-results"
    out.mkdir(exist_ok=True)
    (out / "results.json").write_text(json.dumps(results, ensure_ascii=False, indent=2), encoding="utf-8")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
