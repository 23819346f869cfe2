"""Run benchmarks and write their JSON results.

Benchmarks compare ratios measured in one run, never absolute times against a fixed
threshold: these machines are shared and noisy.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from pathlib import Path

BENCHMARKS = ["warehouse", "ingest", "kafka", "transform"]
RESULTS = Path(__file__).resolve().parent / "results"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("names", nargs="*", choices=[*BENCHMARKS, []], help="benchmarks to run (default all)")
    parser.add_argument("--quick", action="store_true", help="fewer rounds, for a smoke run")
    args = parser.parse_args(argv)
    RESULTS.mkdir(parents=True, exist_ok=True)
    failed = []
    for name in args.names or BENCHMARKS:
        module = importlib.import_module(f"bench.{name}")
        result = module.run(quick=args.quick)
        path = RESULTS / f"{name}.json"
        path.write_text(json.dumps(result, indent=2) + "\n")
        print(f"{name}: wrote {path}")
        for goal in result.get("goals", []):
            mark = "met" if goal["met"] else "MISSED"
            print(f"  {goal['name']}: {goal['value']:.3f} (goal {goal['goal']}) {mark}")
            if not goal["met"]:
                failed.append(f"{name}:{goal['name']}")
    if failed:
        print("goals missed: " + ", ".join(failed), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
