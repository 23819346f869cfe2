"""Great Expectations, run the way the checks need it: a suite over a dataframe.

Suites are code (a list of expectations), validated through a GX checkpoint in a file
context under the resource's ``gx_root``, so that every run also updates the GX data
docs there (``<gx_root>/gx/uncommitted/data_docs/local_site/index.html``).

Importing great_expectations takes seconds, so only the functions here do it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd


@dataclass(frozen=True)
class Outcome:
    """One expectation's result."""

    expectation: str
    column: str | None
    success: bool
    unexpected: int | None
    sample: list[Any] = field(default_factory=list)


@dataclass(frozen=True)
class Validation:
    """A suite's result over one batch."""

    suite: str
    success: bool
    rows: int
    outcomes: list[Outcome]
    data_docs: str | None

    def failures(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.success]

    def metadata(self) -> dict[str, Any]:
        """For a Dagster check result: counts, the failures, and where the docs are."""
        return {
            "rows": self.rows,
            "expectations": len(self.outcomes),
            "failed": [
                {
                    "expectation": o.expectation,
                    "column": o.column,
                    "unexpected": o.unexpected,
                    "sample": o.sample,
                }
                for o in self.failures()
            ],
            "data_docs": self.data_docs or "",
        }


#: builds the suite's expectations from the great_expectations.expectations module
SuiteBuilder = Callable[[Any], Sequence[Any]]


def validate(
    frame: pd.DataFrame, suite: str, build: SuiteBuilder, run_name: str, gx_root: Path
) -> Validation:
    """Validate ``frame`` against the suite ``build`` makes; update the data docs."""
    # GX reports progress bars and INFO lines per metric: noise in a Dagster log.
    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    import great_expectations as gx
    import great_expectations.expectations as gxe
    from great_expectations.checkpoint.actions import UpdateDataDocsAction

    gx_root.mkdir(parents=True, exist_ok=True)
    context = gx.get_context(mode="file", project_root_dir=str(gx_root))
    source = context.data_sources.add_or_update_pandas("warehouse")
    asset = next((a for a in source.assets if a.name == suite), None) or source.add_dataframe_asset(suite)
    batch = next((b for b in asset.batch_definitions if b.name == "partition"), None)
    batch = batch or asset.add_batch_definition_whole_dataframe("partition")
    expectation_suite = context.suites.add_or_update(
        gx.ExpectationSuite(name=suite, expectations=list(build(gxe)))
    )
    definition = context.validation_definitions.add_or_update(
        gx.ValidationDefinition(name=suite, data=batch, suite=expectation_suite)
    )
    checkpoint = context.checkpoints.add_or_update(
        gx.Checkpoint(
            name=suite,
            validation_definitions=[definition],
            actions=[UpdateDataDocsAction(name="update_data_docs")],
            result_format={"result_format": "SUMMARY", "partial_unexpected_count": 5},
        )
    )
    result = checkpoint.run(batch_parameters={"dataframe": frame}, run_id=gx.RunIdentifier(run_name=run_name))
    outcomes = []
    for run in result.run_results.values():
        for item in run.results:
            details = item.result or {}
            config = item.expectation_config
            assert config is not None  # GX fills it in for every result of a suite
            outcomes.append(
                Outcome(
                    expectation=config.type,
                    column=config.kwargs.get("column"),
                    success=bool(item.success),
                    unexpected=details.get("unexpected_count"),
                    sample=[str(v) for v in details.get("partial_unexpected_list", [])[:5]],
                )
            )
    sites = context.get_docs_sites_urls()
    return Validation(
        suite=suite,
        success=bool(result.success),
        rows=len(frame),
        outcomes=outcomes,
        data_docs=sites[0]["site_url"] if sites else None,
    )
