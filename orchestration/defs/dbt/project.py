"""The dbt project as Dagster sees it: its manifest, kept in step with the project files.

dagster-dbt builds the asset graph from ``target/manifest.json``. The manifest is
rebuilt (``dbt parse``, a few seconds, no warehouse needed) when it is missing or older
than any file of the project, so the graph never describes models that changed.
"""

import os
import subprocess
from pathlib import Path

from dagster_dbt import DbtProject

from beaconhouse.transform import DBT_PROJECT_DIR, dbt_executable

DBT_PROJECT = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)
_SOURCES = ("models", "macros", "tests", "seeds", "snapshots", "analyses")
_FILES = ("dbt_project.yml", "profiles.yml", "selectors.yml", "packages.yml")


def _newest_source() -> float:
    newest = 0.0
    for name in _FILES:
        path = DBT_PROJECT_DIR / name
        if path.exists():
            newest = max(newest, path.stat().st_mtime)
    for folder in _SOURCES:
        for path in (DBT_PROJECT_DIR / folder).rglob("*"):
            if path.is_file():
                newest = max(newest, path.stat().st_mtime)
    return newest


def manifest_path() -> Path:
    """``target/manifest.json``, parsed again first if the project changed since."""
    manifest = Path(DBT_PROJECT.manifest_path)
    if not manifest.exists() or manifest.stat().st_mtime < _newest_source():
        # Parsing reads the profile but never connects: the defaults will do.
        env = {**os.environ, "DBT_PROFILES_DIR": str(DBT_PROJECT_DIR)}
        result = subprocess.run(
            [dbt_executable(), "parse", "--project-dir", str(DBT_PROJECT_DIR), "--quiet"],
            cwd=DBT_PROJECT_DIR,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(f"dbt parse failed:\n{result.stdout[-4000:]}{result.stderr[-2000:]}")
    return manifest
