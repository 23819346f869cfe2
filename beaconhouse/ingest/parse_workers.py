"""The parse worker processes both loaders start: how they are started, how they end.

The file loader (:class:`~beaconhouse.ingest.chunk_parser.ChunkParser`) and the Kafka
loader (:class:`~beaconhouse.ingest.message_parser.MessageParser`) parse in worker
processes from two cores up. Both get their pool here, so both get the same guards:

- spawn, not fork: the loaders run threads (prefetch, librdkafka, dlt's load thread);
- Arrow memory from jemalloc, as in the loaders (:mod:`beaconhouse.ingest.arrow_memory`);
- a worker exits once its loader is gone: a loader killed with SIGKILL cannot stop its
  pool, and a worker waiting for its next task would wait for ever, holding its memory;
- Python starts a worker by importing the script that started the loader. A script that
  calls a loader without ``if __name__ == '__main__':`` would start a second loader in
  the worker (for Kafka, a second member of the group): the loader refuses to run there
  (:func:`refuse_in_starting_worker`), and the loader that started the worker fails with
  an error that names the fix (:func:`worker_result`).
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import TypeVar

from beaconhouse.ingest.arrow_memory import use_returning_memory_pool
from beaconhouse.ingest.errors import IngestError
from beaconhouse.ingest.spool import remove_stale_spools

T = TypeVar("T")

WORKER_DIED = (
    "the {loader} loader's parse worker process stopped ({cause}). If a script of yours calls "
    "{function}, call it under `if __name__ == '__main__':`: Python starts the worker by "
    "importing the script that started the loader"
)

#: in a worker: the pid of the loader that started it (see :func:`loader_pid`)
_LOADER_PID: int | None = None


def parse_pool(workers: int) -> ProcessPoolExecutor:
    """A pool of ``workers`` parse processes, started with the guards above."""
    return ProcessPoolExecutor(
        max_workers=workers, mp_context=multiprocessing.get_context("spawn"), initializer=start_worker
    )


def worker_died(cause: BrokenProcessPool, loader: str, function: str) -> IngestError:
    """The error for a pool whose worker died, with why it may have (``loader``: "file"
    or "Kafka"; ``function``: what the loader's script calls)."""
    return IngestError(WORKER_DIED.format(loader=loader, cause=cause, function=function))


def worker_result(future: Future[T], loader: str, function: str) -> T:
    """``future``'s result; a worker that died is :func:`worker_died`'s error."""
    try:
        return future.result()
    except BrokenProcessPool as exc:
        raise worker_died(exc, loader, function) from exc


def refuse_in_starting_worker(what: str) -> None:
    """Refuse to run the loader ``what`` in a worker process that is still starting."""
    # multiprocessing's own flag for "this process is importing its parent's main module"
    if getattr(multiprocessing.current_process(), "_inheriting", False):
        raise IngestError(
            f"{what} was called while a parse worker process was starting; call it under "
            "`if __name__ == '__main__':` in your script"
        )


def start_loader(function: str) -> None:
    """What both loaders do first: refuse to run in a starting worker (``function``:
    what the loader's script calls), remove dead loaders' spool files, and put Arrow's
    memory on the loaders' pool."""
    refuse_in_starting_worker(function)
    remove_stale_spools()
    use_returning_memory_pool()


def start_worker() -> None:
    """A worker's initializer: the loaders' Arrow pool, and the watch on the loader."""
    use_returning_memory_pool()
    watch_parent()


def watch_parent() -> None:
    """Record the loader's pid, and exit once it is gone."""
    global _LOADER_PID
    _LOADER_PID = os.getppid()
    threading.Thread(target=_exit_when_orphaned, args=(_LOADER_PID,), daemon=True).start()


def _exit_when_orphaned(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(1)


def loader_pid() -> int:
    """In a worker, the pid of the loader that started it, as it was at start: once the
    loader is gone, ``os.getppid()`` is init's, which never dies, and a spool file named
    after it would never count as stale."""
    return _LOADER_PID if _LOADER_PID is not None else os.getppid()
