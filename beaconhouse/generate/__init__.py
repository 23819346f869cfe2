"""Deterministic synthetic web traffic with exact ground truth (``beaconhouse generate``).

See ``docs/generator.md``. The entry point is :func:`beaconhouse.generate.cli.run`.
"""

from beaconhouse.generate.cli import GenerateOptions, GenerateReport, run

__all__ = ["GenerateOptions", "GenerateReport", "run"]
