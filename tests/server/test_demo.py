"""``make demo`` runs the main job on the embedded warehouse, from nothing."""

from __future__ import annotations

import subprocess
import sys

import pytest

pytestmark = pytest.mark.server


def test_demo_runs_end_to_end_and_matches_the_truth(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "beaconhouse", "demo"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "raw.events" in result.stdout  # the schema
    assert "generated" in result.stderr
    assert "loaded" in result.stderr
    # rows of the summary table (the schema also has columns named like min_pageviews)
    table = [line for line in result.stdout.splitlines() if "│ pageview " in line or "│ transaction " in line]
    assert len(table) >= 6
    assert all(" yes " in line for line in table), table  # every site and type equals the truth
    assert " NO " not in result.stdout
    assert "server exit code 0" in result.stderr
