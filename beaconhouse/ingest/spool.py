"""Arrow tables handed between a loader and its parse workers, as files in shared memory.

Pickling a table through a process pool's pipe costs a copy and CPU on both sides; the
receiver maps the file instead, without copying. Each file is named after the loader
it belongs to (``beaconhouse-chunk-<loader pid>-….arrow``): a loader killed with
SIGKILL cannot remove the files it had in flight, so every loader removes, when it
starts, those of loaders that are no longer running.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
from pathlib import Path

import pyarrow as pa

PREFIX = "beaconhouse-chunk-"
#: files named before they carried their loader's pid count as stale after this long
UNOWNED_STALE_SECONDS = 3600.0


def spool_dir() -> str:
    # Shared memory where there is one: the file is written and mapped, never on disk.
    shm = "/dev/shm"  # noqa: S108 - mkstemp below creates the file exclusively, mode 0600
    return shm if os.path.isdir(shm) else tempfile.gettempdir()


def spooled(table: pa.Table, loader_pid: int) -> pa.Table:
    """``table`` written to a file of the loader ``loader_pid``; returns a one-row table
    holding the file's path, cheap to send (see :func:`unspooled`)."""
    handle, path = tempfile.mkstemp(prefix=f"{PREFIX}{loader_pid}-", suffix=".arrow", dir=spool_dir())
    with os.fdopen(handle, "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)
    return pa.table({"path": [path]})


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
