"""HTTP body compression as ClickHouse does it: gzip, deflate, zstd and lz4 both ways;
requests also in xz and bz2, under ClickHouse's aliases (gz, zst, lzma, none, auto).

Request bodies are decoded as they stream in; concatenated frames or gzip members
are all decoded, since clients may compress each block separately. Responses are
encoded as they stream out.
"""

from __future__ import annotations

import bz2
import lzma
import zlib
from collections.abc import Iterable, Iterator
from typing import Protocol

import lz4.frame
import zstandard

SUPPORTED = ("gzip", "deflate", "zstd", "lz4")


class UnsupportedEncodingError(ValueError):
    """The client used a Content-Encoding this server does not decode."""


class _Decoder(Protocol):
    def decompress(self, data: bytes) -> bytes: ...


def _new_decoder(encoding: str) -> _Decoder:
    if encoding in ("gzip", "x-gzip", "gz"):
        return zlib.decompressobj(16 + zlib.MAX_WBITS)
    if encoding == "deflate":
        return zlib.decompressobj(zlib.MAX_WBITS)
    if encoding in ("zstd", "zst"):
        return zstandard.ZstdDecompressor().decompressobj()
    if encoding in ("xz", "lzma"):
        return lzma.LZMADecompressor()
    if encoding == "bz2":
        return bz2.BZ2Decompressor()
    if encoding == "lz4":
        decoder: _Decoder = lz4.frame.LZ4FrameDecompressor()
        return decoder
    raise UnsupportedEncodingError(f"Unknown Content-Encoding of HTTP request: {encoding}")


def decode_stream(chunks: Iterable[bytes], encoding: str) -> Iterator[bytes]:
    """Decode a compressed body, chunk by chunk, across concatenated frames."""
    encoding = encoding.strip().lower()
    # As ClickHouse's chooseCompressionMethod: these mean "not compressed".
    if encoding in ("", "identity", "none", "auto"):
        yield from chunks
        return
    decoder = _new_decoder(encoding)
    for chunk in chunks:
        data = chunk
        while data:
            out = decoder.decompress(data)
            if out:
                yield out
            data = _unused(decoder)
            if data or _finished(decoder):
                decoder = _new_decoder(encoding)
    # zlib keeps a tail in its buffer until flushed.
    if isinstance(decoder, type(zlib.decompressobj())):
        tail = decoder.flush()
        if tail:
            yield tail


def _unused(decoder: _Decoder) -> bytes:
    if isinstance(decoder, lz4.frame.LZ4FrameDecompressor):
        return bytes(decoder.unused_data or b"") if decoder.eof else b""
    unused = getattr(decoder, "unused_data", b"")
    return bytes(unused or b"")


def _finished(decoder: _Decoder) -> bool:
    return bool(getattr(decoder, "eof", False))


class Encoder(Protocol):
    def compress(self, data: bytes) -> bytes: ...
    def flush(self) -> bytes: ...


class _Lz4Encoder:
    def __init__(self) -> None:
        self._inner = lz4.frame.LZ4FrameCompressor()
        self._started = False

    def compress(self, data: bytes) -> bytes:
        head = b""
        if not self._started:
            head = bytes(self._inner.begin())
            self._started = True
        return head + bytes(self._inner.compress(data))

    def flush(self) -> bytes:
        head = b"" if self._started else bytes(self._inner.begin())
        self._started = True
        return head + bytes(self._inner.flush())


class _ZstdEncoder:
    def __init__(self, level: int) -> None:
        self._inner = zstandard.ZstdCompressor(level=level).compressobj()

    def compress(self, data: bytes) -> bytes:
        return bytes(self._inner.compress(data))

    def flush(self) -> bytes:
        return bytes(self._inner.flush())


def new_encoder(encoding: str, level: int = 3) -> Encoder:
    """A streaming compressor for a response body."""
    if encoding == "gzip":
        return zlib.compressobj(min(max(level, 1), 9), zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    if encoding == "deflate":
        return zlib.compressobj(min(max(level, 1), 9), zlib.DEFLATED, zlib.MAX_WBITS)
    if encoding == "zstd":
        return _ZstdEncoder(level)
    if encoding == "lz4":
        return _Lz4Encoder()
    raise UnsupportedEncodingError(encoding)


def choose_encoding(accept_encoding: str) -> str | None:
    """The first encoding the client accepts that this server produces."""
    for item in accept_encoding.split(","):
        name, _, params = item.strip().partition(";")
        name = name.strip().lower()
        if "q=0" in params.replace(" ", "") and "q=0." not in params.replace(" ", ""):
            continue
        if name in SUPPORTED:
            return name
        if name == "x-gzip":
            return "gzip"
    return None
