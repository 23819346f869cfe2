"""Command-line argument types: a bad value becomes one clear argparse error."""

from __future__ import annotations

import argparse
import datetime as dt
from collections.abc import Callable


def bounded_int(what: str, low: int, high: int | None = None) -> Callable[[str], int]:
    """An argparse ``type`` accepting whole numbers in [low, high]."""

    def parse(value: str) -> int:
        try:
            number = int(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"invalid {what} {value!r}: not a whole number") from None
        if number < low or (high is not None and number > high):
            limits = f"{low}-{high}" if high is not None else f"at least {low}"
            raise argparse.ArgumentTypeError(f"invalid {what} {number}: must be {limits}")
        return number

    return parse


def positive_float(what: str) -> Callable[[str], float]:
    """An argparse ``type`` accepting numbers above zero."""

    def parse(value: str) -> float:
        try:
            number = float(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"invalid {what} {value!r}: not a number") from None
        if not number > 0:
            raise argparse.ArgumentTypeError(f"invalid {what} {number}: must be above 0")
        return number

    return parse


def iso_date(value: str) -> dt.date:
    """An argparse ``type`` accepting a calendar date, YYYY-MM-DD."""
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid date {value!r}: expected YYYY-MM-DD") from None
