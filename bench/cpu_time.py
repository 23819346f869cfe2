"""CPU seconds spent by each process of a benchmark run.

On two shared cores the loaders are bound by CPU, not by waiting: the sum of every
process's CPU seconds per event tells what a change saves, where one run's wall-clock
rate moves by ±5 % with the machine's other work.
"""

from __future__ import annotations

import os
import resource


def process_cpu_seconds(pid: int) -> float:
    """User plus system CPU seconds of process ``pid`` so far (Linux ``/proc``)."""
    with open(f"/proc/{pid}/stat") as stat:
        # the command name, in parentheses, may hold spaces: split after it
        fields = stat.read().rsplit(")", 1)[1].split()
    # utime and stime: fields 14 and 15 of stat(5), here 11 and 12 after the name
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def own_cpu_seconds() -> dict[str, float]:
    """This process's CPU seconds, and those of its children that have been waited for."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {"self": own.ru_utime + own.ru_stime, "children": children.ru_utime + children.ru_stime}


def per_event_summary(cpu_seconds: dict[str, float], events: int, cpus: int) -> dict[str, float]:
    """Total CPU per event, and the rate at which ``cpus`` cores would be all busy."""
    total = sum(cpu_seconds.values())
    per_event = total / events if events else float("nan")
    return {
        "cpu_seconds_total": total,
        "cpu_microseconds_per_event": per_event * 1e6,
        "events_per_second_if_every_core_were_busy": cpus / per_event if events else float("nan"),
    }
