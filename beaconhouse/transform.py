"""Run the dbt project (``dbt_project/``) with the beaconhouse configuration.

dbt reads its connection from the environment, through the same variables that
override beaconhouse.toml (``BEACONHOUSE_WAREHOUSE__URL``, ``__USER``, …; see
``dbt_project/profiles.yml``). :func:`dbt_environment` derives them from a
:class:`~beaconhouse.config.Settings`, so a configuration file alone is enough.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from beaconhouse.config import Settings, Site

#: the dbt project, beside the package in the repository (as sql/ is)
DBT_PROJECT_DIR = Path(__file__).resolve().parents[1] / "dbt_project"


def dbt_executable() -> str:
    """dbt's command line as beaconhouse runs it: ``beaconhouse-dbt`` next to this
    interpreter (dbt with a cheaper start and exit, :mod:`beaconhouse.dbt_launcher`),
    else that environment's ``dbt``, else ``dbt`` from PATH."""
    for name in ("beaconhouse-dbt", "dbt"):
        candidate = Path(sys.executable).parent / name
        if candidate.exists():
            return str(candidate)
    return "dbt"


def dbt_environment(settings: Settings, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """``base`` (default: this process's environment) plus what the dbt profile reads."""
    wh = settings.warehouse
    env = dict(os.environ if base is None else base)
    env.update(
        {
            "BEACONHOUSE_WAREHOUSE__URL": wh.url,
            "BEACONHOUSE_WAREHOUSE__USER": wh.user,
            "BEACONHOUSE_WAREHOUSE__PASSWORD": wh.password,
            "BEACONHOUSE_WAREHOUSE__RAW_DATABASE": wh.raw_database,
            "BEACONHOUSE_WAREHOUSE__MARTS_DATABASE": wh.marts_database,
            "BEACONHOUSE_WAREHOUSE__META_DATABASE": wh.meta_database,
            "BEACONHOUSE_WAREHOUSE__CLUSTER": wh.cluster or "",
            "DBT_PROFILES_DIR": str(DBT_PROJECT_DIR),
        }
    )
    return env


#: the build window's environment variables (site-local days, inclusive), which
#: dbt_project/macros/build_window.sql reads while nodes execute. Unlike ``--vars``,
#: which dbt hashes into its partial-parse state, they leave the parse valid from one
#: day to the next: a one-day rerun skips a re-parse of the whole project.
WINDOW_ENVIRONMENT = {"min_date": "DBT_VAR_MIN_DATE", "max_date": "DBT_VAR_MAX_DATE"}


def window_environment(min_date: dt.date | None = None, max_date: dt.date | None = None) -> dict[str, str]:
    """The environment of a build window; both variables always, empty when unbounded,
    so a window set in the calling process never leaks into a run that has none."""
    if min_date and max_date and min_date > max_date:
        raise ValueError(f"the window starts ({min_date}) after it ends ({max_date})")
    return {
        WINDOW_ENVIRONMENT["min_date"]: min_date.isoformat() if min_date else "",
        WINDOW_ENVIRONMENT["max_date"]: max_date.isoformat() if max_date else "",
    }


def dbt_command(
    command: str,
    *,
    select: Sequence[str] = (),
    full_refresh: bool = False,
    variables: Mapping[str, object] | None = None,
    extra: Sequence[str] = (),
) -> list[str]:
    """The argument list of one dbt invocation on the project (``command`` may be two
    words: ``docs generate``, ``source freshness``). The build window is not an
    argument: :func:`run_dbt` passes it in the environment."""
    args = [dbt_executable(), *command.split(), "--project-dir", str(DBT_PROJECT_DIR)]
    if variables:
        args += ["--vars", json.dumps(dict(variables))]
    if select:
        args += ["--select", *select]
    if full_refresh:
        args.append("--full-refresh")
    return args + list(extra)


def run_dbt(
    settings: Settings,
    args: Sequence[str],
    *,
    min_date: dt.date | None = None,
    max_date: dt.date | None = None,
    capture: bool = False,
    timeout: float | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``args`` (from :func:`dbt_command`) with the settings' environment, over the
    site-local days ``min_date``..``max_date`` (unbounded where ``None``)."""
    return subprocess.run(
        list(args),
        env={**dbt_environment(settings), **window_environment(min_date, max_date)},
        cwd=DBT_PROJECT_DIR,
        capture_output=capture,
        text=True,
        timeout=timeout,
        check=False,
    )


@dataclass(frozen=True)
class LateDay:
    """A site-local day whose marts no longer match raw.events."""

    website_id: int
    local_date: dt.date
    raw_events: int
    built_events: int
    reason: str
    last_loaded_at: dt.datetime | None
    last_built_at: dt.datetime | None


def late_days(client: Any, settings: Settings) -> list[LateDay]:
    """The rows of ``late_data_days`` (the days to rebuild), oldest first."""
    rows = client.query(
        "SELECT website_id, local_date, raw_events, built_events, reason, last_loaded_at, last_built_at "
        f"FROM `{settings.warehouse.marts_database}`.late_data_days ORDER BY local_date, website_id"
    ).result_rows
    return [LateDay(*row) for row in rows]


def synced_sites_differ(client: Any, settings: Settings) -> list[str]:
    """How the newest ``sites sync`` differs from the configured sites (empty: it does not)."""
    meta = settings.warehouse.meta_database
    rows = client.query(
        f"SELECT website_id, domain, timezone, bot_filtering FROM `{meta}`.sites "
        f"WHERE synced_at = (SELECT max(synced_at) FROM `{meta}`.sites)"
    ).result_rows
    synced = {int(r[0]): (r[1], r[2], bool(r[3])) for r in rows}
    configured = {s.website_id: (s.domain, s.timezone, s.bot_filtering) for s in settings.sites}
    goal_rows = client.query(
        "SELECT website_id, goal_name, kind, page_path, match_type, event_category, event_action, "
        f"event_label, min_duration_seconds, min_pageviews, goal_value FROM `{meta}`.site_goals "
        f"WHERE synced_at = (SELECT max(synced_at) FROM `{meta}`.sites)"
    ).result_rows
    synced_goals: dict[int, set[tuple[Any, ...]]] = {}
    for website_id, *goal in goal_rows:
        synced_goals.setdefault(int(website_id), set()).add((*goal[:-1], Decimal(goal[-1])))
    problems = []
    for website_id in sorted(configured.keys() | synced.keys()):
        if website_id not in synced:
            problems.append(f"site {website_id} is not synced")
        elif website_id not in configured:
            problems.append(f"site {website_id} is synced but no longer configured")
        elif synced[website_id] != configured[website_id]:
            problems.append(f"site {website_id} changed since the last sync")
        elif synced_goals.get(website_id, set()) != _goals(settings.site(website_id)):
            problems.append(f"the goals of site {website_id} changed since the last sync")
    return problems


def _goals(site: Site) -> set[tuple[Any, ...]]:
    return {
        (
            goal.name,
            goal.kind,
            goal.page_path,
            goal.match,
            goal.event_category,
            goal.event_action,
            goal.event_label,
            goal.min_duration_seconds,
            goal.min_pageviews,
            Decimal(str(goal.value)).quantize(Decimal("0.0001")),
        )
        for goal in site.goals
    }
