"""A process's own peak memory, for the benchmarks' loader processes."""

from __future__ import annotations


def own_peak_rss_bytes() -> int:
    """This process's VmHWM: the high-water mark of its own resident memory.

    Not ``ru_maxrss``: Linux carries that across ``exec`` from the forked parent, so a
    process started by the bench reports the bench's RSS whenever that was higher.
    """
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("/proc/self/status has no VmHWM")
