"""Which allocator holds the loaders' Arrow memory.

The loaders build a batch's columns on one thread and free them on another (dlt's
load thread), batch after batch. With pyarrow's default pool, mimalloc, the freed
memory stayed with the process: the Kafka loader at 100k messages per batch peaked at
1.17 GB of RSS while Arrow itself held at most 0.18 GB. With jemalloc, which returns
freed pages to the system after a short delay, the same run peaked at 0.91-0.94 GB
(docs/kafka.md). Only the allocator differs: the data and the results are the same.
"""

from __future__ import annotations

import contextlib
import os

import pyarrow as pa

#: what pyarrow itself reads at import to choose its default pool
POOL_VARIABLE = "ARROW_DEFAULT_MEMORY_POOL"


def use_returning_memory_pool() -> str:
    """Make jemalloc the process's default Arrow pool, where pyarrow has it.

    A pool chosen with ``ARROW_DEFAULT_MEMORY_POOL`` is kept: that is the operator's
    call. Returns the name of the pool in use.
    """
    if not os.environ.get(POOL_VARIABLE):
        # a pyarrow built without jemalloc keeps its default
        with contextlib.suppress(NotImplementedError):
            pa.set_memory_pool(pa.jemalloc_memory_pool())
    return str(pa.default_memory_pool().backend_name)
