"""``make demo`` runs the main job through Dagster on the embedded warehouse, from nothing."""

from __future__ import annotations

import subprocess
import sys

import pytest

pytestmark = pytest.mark.server


def test_demo_runs_the_graph_through_dagster_and_the_marts_equal_the_truth(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "beaconhouse", "demo"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    for job in ("publish_sites_and_views", "load_landing_files", "build_daily_marts"):
        assert f"{job}" in result.stderr
        assert "FAILED" not in result.stderr
    assert "generated" in result.stderr
    # one table per site, each ending with the range's totals
    assert result.stdout.count("all days") == 3
    assert "against the generator's truth" in result.stdout
    assert result.stdout.rstrip().endswith("equal")
    report = tmp_path / ".beaconhouse" / "demo" / "report.html"
    assert report.read_text().count("<svg") == 9  # three charts per site
    assert "server exit code 0" in result.stderr
