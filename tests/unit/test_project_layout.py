"""The repository carries what a deployment needs, in a form the tools accept."""

from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.unit
REPO = Path(__file__).resolve().parents[2]


def test_top_level_layout():
    for name in ("orchestration", "dbt_project", "ingestion", "sql", "tests", "bench", "docs"):
        assert (REPO / name).is_dir(), name
    for name in ("dagster.yaml", "pyproject.toml", "uv.lock", "Makefile", "README.md", ".ci/run"):
        assert (REPO / name).is_file(), name


def test_dagster_yaml_is_a_valid_instance_config(tmp_path):
    from dagster import DagsterInstance

    config = yaml.safe_load((REPO / "dagster.yaml").read_text())
    assert "storage" not in config  # SQLite files under $DAGSTER_HOME, Dagster's default
    (tmp_path / "dagster.yaml").write_text(yaml.safe_dump(config))
    instance = DagsterInstance.from_config(str(tmp_path))
    try:
        assert type(instance.run_storage).__name__ == "SqliteRunStorage"
        assert (tmp_path / "history" / "runs.db").exists()
        coordinator = instance.run_coordinator
        assert type(coordinator).__name__ == "QueuedRunCoordinator"
        assert coordinator.get_run_queue_config().max_concurrent_runs == 4
    finally:
        instance.dispose()


def test_readme_first_screen_gives_the_two_commands():
    first_screen = "\n".join((REPO / "README.md").read_text().splitlines()[:25])
    assert "make demo" in first_screen
    assert "make test" in first_screen


def test_ci_runs_the_readme_test_command():
    assert "make test" in (REPO / ".ci/run").read_text()
