"""Data handed between a loader and its parse workers, as files in shared memory:
parsed events as Arrow tables, Kafka payloads as plain values behind their offsets.

Pickling a table through a process pool's pipe costs a copy and CPU on both sides; the
receiver maps the file instead, without copying. Each file is named after the loader
it belongs to (``beaconhouse-chunk-<loader pid>-….arrow``): a loader killed with
SIGKILL cannot remove the files it had in flight, so every loader removes, when it
starts, those of loaders that are no longer running.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa

PREFIX = "beaconhouse-chunk-"
#: files named before they carried their loader's pid count as stale after this long
UNOWNED_STALE_SECONDS = 3600.0


def spool_dir() -> str:
    # Shared memory where there is one: the file is written and mapped, never on disk.
    shm = "/dev/shm"  # noqa: S108 - mkstemp below creates the file exclusively, mode 0600
    return shm if os.path.isdir(shm) else tempfile.gettempdir()


def _spool_file(loader_pid: int) -> tuple[int, str]:
    return tempfile.mkstemp(prefix=f"{PREFIX}{loader_pid}-", suffix=".arrow", dir=spool_dir())


def spooled(table: pa.Table, loader_pid: int) -> pa.Table:
    """``table`` written to a file of the loader ``loader_pid``; returns a one-row table
    holding the file's path, cheap to send (see :func:`unspooled`)."""
    handle, path = _spool_file(loader_pid)
    with os.fdopen(handle, "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)
    return pa.table({"path": [path]})


def spooled_payloads(runs: list[tuple[list[bytes], list[int]]], loader_pid: int) -> pa.Table:
    """Payloads and their positions (runs of ``(values, positions)``, kept in order)
    written to a file of the loader ``loader_pid``, as :func:`spooled` returns it.

    The values go to the file as they are, one after another, behind a header of
    ``count``, the positions and the values' offsets (little-endian int64s). Through
    an Arrow array and file, writing cost the loader 0.90 µs a payload on jemalloc (the
    array's buffer grows by reallocation); this way 0.46 (docs/kafka.md), and less
    since the values go out by writev() (:func:`_write_all`). The file is
    named as :func:`spooled` names its own, so that :func:`remove_stale_spools` finds
    it too.
    """
    count = sum(len(positions) for _, positions in runs)
    every_value = list(itertools.chain.from_iterable(values for values, _ in runs))
    lengths = np.fromiter(map(len, every_value), dtype="<i8", count=count)
    offsets = np.zeros(count + 1, dtype="<i8")
    np.cumsum(lengths, out=offsets[1:])
    every_position = itertools.chain.from_iterable(positions for _, positions in runs)
    positions = np.fromiter(every_position, dtype="<i8", count=count)
    handle, path = _spool_file(loader_pid)
    try:
        header = np.array([count], dtype="<i8").tobytes() + positions.tobytes() + offsets.tobytes()
        _write_all(handle, [header])
        _write_all(handle, every_value)
    finally:
        os.close(handle)
    return pa.table({"path": [path]})


#: buffers per writev() call: the kernel takes at most this many (-1, "no limit
#: known", would make the loop below write nothing)
_IOV_MAX = max(os.sysconf("SC_IOV_MAX"), 16)


def _write_all(handle: int, buffers: list[bytes]) -> None:
    """Write ``buffers`` to file descriptor ``handle`` in order, ``_IOV_MAX`` per call.

    One writev() per group copies each buffer once, into the file. A buffered
    writelines() copied each into its 8 KB buffer first and made a call per 8 KB:
    0.89-1.14 against 0.49-0.64 µs a payload, 100,000 payloads of 400-900 bytes into
    /dev/shm.
    """
    for start in range(0, len(buffers), _IOV_MAX):
        group = buffers[start : start + _IOV_MAX]
        written = os.writev(handle, group)
        if written < sum(map(len, group)):  # a short write (a signal, a full disk): finish this group
            rest = memoryview(b"".join(group))[written:]
            while rest:
                rest = rest[os.write(handle, rest) :]


def unspooled_payloads(spool: pa.Table) -> tuple[list[bytes], list[int]]:
    """Read back :func:`spooled_payloads`: every value and position, in order; the file
    is unlinked at once."""
    path = spool["path"][0].as_py()
    try:
        # the buffer keeps the mapping (and so the pages) alive after the unlink
        data = pa.memory_map(path).read_buffer()
    finally:
        os.unlink(path)
    count = int(np.frombuffer(data, dtype="<i8", count=1)[0])
    header = 8 * (1 + count + count + 1)
    positions = np.frombuffer(data, dtype="<i8", count=count, offset=8)
    offsets = data.slice(8 * (1 + count), 8 * (count + 1))
    values = pa.LargeBinaryArray.from_buffers(pa.large_binary(), count, [None, offsets, data.slice(header)])
    return values.to_pylist(), positions.tolist()


def unspooled(spool: pa.Table) -> pa.Table:
    """Read back a :func:`spooled` table, by memory map; the file is unlinked at once
    (the mapping keeps its pages until the table is released)."""
    path = spool["path"][0].as_py()
    try:
        return pa.ipc.open_file(pa.memory_map(path)).read_all()
    finally:
        os.unlink(path)


def remove_spool(spool: pa.Table) -> None:
    """Remove a :func:`spooled` file that will not be read back."""
    with contextlib.suppress(FileNotFoundError):
        os.unlink(spool["path"][0].as_py())


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_spools() -> list[str]:
    """Remove the files of loaders that no longer run; returns their names."""
    removed = []
    for path in Path(spool_dir()).glob(f"{PREFIX}*.arrow"):
        owner = path.name.removeprefix(PREFIX).split("-")[0]
        with contextlib.suppress(FileNotFoundError):
            if owner.isdigit():
                stale = not process_alive(int(owner))
            else:
                stale = time.time() - path.stat().st_mtime > UNOWNED_STALE_SECONDS
            if stale:
                path.unlink()
                removed.append(path.name)
    return removed
