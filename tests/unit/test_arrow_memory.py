"""The loaders' Arrow memory pool: jemalloc, in the loader and in its parse workers,
unless the operator chose a pool with ARROW_DEFAULT_MEMORY_POOL.

The pool is process-wide, so each case runs in a fresh interpreter.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parents[2]


def pools_seen(folder: Path, script: str, **env: str) -> dict[str, str]:
    """Run ``script`` in a fresh interpreter; it prints a JSON object of pool names.

    It runs from a file: a spawned worker imports its parent's script."""
    path = folder / "pools.py"
    path.write_text(textwrap.dedent(script))
    environment = {k: v for k, v in os.environ.items() if k != "ARROW_DEFAULT_MEMORY_POOL"}
    environment.update(env)
    done = subprocess.run(
        [sys.executable, str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
        env={**environment, "PYTHONPATH": str(REPO)},
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, str] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


CHOOSE = """
    import json
    import pyarrow as pa
    from beaconhouse.ingest.arrow_memory import use_returning_memory_pool
    before = pa.default_memory_pool().backend_name
    chosen = use_returning_memory_pool()
    print(json.dumps({"before": before, "chosen": chosen, "after": pa.default_memory_pool().backend_name}))
"""


def test_the_loader_moves_arrow_to_jemalloc(tmp_path):
    seen = pools_seen(tmp_path, CHOOSE)
    # pyarrow's own default here is mimalloc: the call is what changes it
    assert seen["before"] != "jemalloc"
    assert seen["chosen"] == seen["after"] == "jemalloc"


def test_a_pool_chosen_by_the_operator_is_kept(tmp_path):
    seen = pools_seen(tmp_path, CHOOSE, ARROW_DEFAULT_MEMORY_POOL="system")
    assert seen == {"before": "system", "chosen": "system", "after": "system"}


def test_parse_workers_use_the_loaders_pool(tmp_path):
    seen = pools_seen(
        tmp_path,
        """
        import json
        import pyarrow as pa
        from beaconhouse.ingest.parse_workers import parse_pool

        def pool_name():
            return pa.default_memory_pool().backend_name

        if __name__ == "__main__":
            with parse_pool(1) as pool:
                print(json.dumps({"worker": pool.submit(pool_name).result(timeout=60)}))
        """,
    )
    assert seen == {"worker": "jemalloc"}
