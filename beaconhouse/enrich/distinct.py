"""Enrich each distinct value once, not each row.

A batch of web events repeats itself: a few thousand user agents, IPs and referrers
cover hundreds of thousands of rows. So every enrichment step works the same way:
dictionary-encode the key column(s) (one hash pass in Arrow's C++), run the Python
function on each distinct key, build one small Arrow array per output, then ``take``
it back to row order with the dictionary indices. The Python cost scales with the
number of distinct keys, not rows.

:class:`LruCache` lets a step keep its results across batches (user agents and
referrers recur batch after batch), bounded so a flood of unique values cannot grow
memory without limit.
"""

from __future__ import annotations

import functools
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeAlias, TypeVar

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

#: a column as the loaders hand it over: one array or a chunked one
ArrayLike: TypeAlias = pa.Array | pa.ChunkedArray


class LruCache(Generic[K, V]):
    """A bounded map that evicts the least recently used entry when full."""

    def __init__(self, maxsize: int) -> None:
        if maxsize < 1:
            raise ValueError("LruCache maxsize must be at least 1")
        self.maxsize = maxsize
        self.hits = 0
        self.misses = 0
        self._data: OrderedDict[K, V] = OrderedDict()

    def __len__(self) -> int:
        return len(self._data)

    def get_or_compute(self, key: K, compute: Callable[[], V]) -> V:
        """The cached value for ``key``, computing and storing it on a miss."""
        try:
            value = self._data[key]
        except KeyError:
            self.misses += 1
            value = compute()
            self._data[key] = value
            if len(self._data) > self.maxsize:
                self._data.popitem(last=False)
            return value
        self.hits += 1
        self._data.move_to_end(key)
        return value


@dataclass(frozen=True)
class Distinct:
    """The distinct rows of one or more key columns, and which one each row is.

    ``values[i]`` holds the distinct values of key column ``i`` (aligned across
    columns: position ``g`` of every column is distinct row ``g``), and ``codes[r]``
    is the distinct row of input row ``r``.
    """

    codes: pa.Array
    values: tuple[pa.Array, ...]

    def __len__(self) -> int:
        return len(self.values[0])

    def rows(self) -> list[tuple[Any, ...]]:
        """The distinct rows as Python tuples (nulls as ``None``)."""
        return list(zip(*(column.to_pylist() for column in self.values), strict=True))

    def expand(self, arrays: Sequence[pa.Array]) -> list[pa.Array]:
        """Arrays with one value per distinct row, taken back to one per input row."""
        return [array.take(self.codes) for array in arrays]


def _as_array(values: ArrayLike) -> pa.Array:
    return values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values


def distinct(*keys: ArrayLike) -> Distinct:
    """Group the rows of ``keys`` (equal-length arrays) by their combined value.

    Nulls are a value of their own. One key column costs one dictionary encoding.
    More columns are combined pairwise into dense integer codes (each step is at most
    rows² < 2⁶³ for any realistic batch, and re-densified by another encoding).
    """
    if not keys:
        raise ValueError("distinct() needs at least one key column")
    columns = [_as_array(key) for key in keys]
    length = len(columns[0])
    if any(len(column) != length for column in columns):
        raise ValueError("distinct() key columns differ in length")
    if len(columns) == 1:
        encoded = pc.dictionary_encode(columns[0], null_encoding="encode")
        return Distinct(codes=encoded.indices, values=(encoded.dictionary,))

    codes = np.zeros(length, dtype=np.int64)
    for column in columns:
        encoded = pc.dictionary_encode(column, null_encoding="encode")
        indices = encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64)
        dense = pc.dictionary_encode(pa.array(codes * len(encoded.dictionary) + indices))
        codes = dense.indices.to_numpy(zero_copy_only=False).astype(np.int64)
    groups = int(codes.max()) + 1 if length else 0
    # Any row of a group represents it: all its rows share the key values.
    representative = np.zeros(groups, dtype=np.int64)
    representative[codes] = np.arange(length, dtype=np.int64)
    return Distinct(
        codes=pa.array(codes, type=pa.int64()),
        values=tuple(column.take(pa.array(representative)) for column in columns),
    )


def map_distinct(
    keys: ArrayLike | Sequence[ArrayLike],
    fn: Callable[..., tuple[Any, ...]],
    out_types: Sequence[pa.DataType],
    *,
    cache: LruCache[Any, Any] | None = None,
) -> list[pa.Array]:
    """Apply ``fn`` once per distinct key and return its outputs in row order.

    ``keys`` is one array or a sequence of equal-length arrays; ``fn`` receives one
    Python value per key column (``None`` for null) and returns a tuple with one
    value per entry of ``out_types``. With ``cache``, results are looked up by key
    (the value, or the tuple of values) first, so keys seen in earlier batches are
    not computed again.
    """
    columns = [keys] if isinstance(keys, pa.Array | pa.ChunkedArray) else list(keys)
    groups = distinct(*columns)
    single = len(columns) == 1
    results: list[tuple[Any, ...]] = []
    for row in groups.rows():
        if cache is None:
            results.append(fn(*row))
        else:
            results.append(cache.get_or_compute(row[0] if single else row, functools.partial(fn, *row)))
    outputs = list(zip(*results, strict=True)) if results else [() for _ in out_types]
    if len(outputs) != len(out_types):
        raise ValueError(f"map_distinct: fn returned {len(outputs)} values, expected {len(out_types)}")
    arrays = [pa.array(list(values), type=type_) for values, type_ in zip(outputs, out_types, strict=True)]
    return groups.expand(arrays)
