import gzip
import zlib

import lz4.frame
import pytest
import zstandard

from beaconhouse.warehouse.http_compression import (
    UnsupportedEncodingError,
    choose_encoding,
    decode_stream,
    new_encoder,
)

pytestmark = pytest.mark.unit
PAYLOAD = b"".join(b"row %d\n" % i for i in range(20000))
COMPRESSORS = {
    "gzip": gzip.compress,
    "deflate": zlib.compress,
    "zstd": zstandard.ZstdCompressor().compress,
    "lz4": lz4.frame.compress,
}


@pytest.mark.parametrize("encoding", list(COMPRESSORS))
def test_decode_concatenated_frames_split_anywhere(encoding):
    compress = COMPRESSORS[encoding]
    body = compress(PAYLOAD[:70000]) + compress(PAYLOAD[70000:])
    pieces = [body[i : i + 777] for i in range(0, len(body), 777)]
    assert b"".join(decode_stream(iter(pieces), encoding)) == PAYLOAD


@pytest.mark.parametrize("encoding", list(COMPRESSORS))
def test_encoder_round_trip(encoding):
    encoder = new_encoder(encoding)
    out = (
        b"".join(encoder.compress(PAYLOAD[i : i + 5000]) for i in range(0, len(PAYLOAD), 5000))
        + encoder.flush()
    )
    assert b"".join(decode_stream(iter([out]), encoding)) == PAYLOAD


@pytest.mark.parametrize(
    ("alias", "compress"),
    [
        ("gz", gzip.compress),
        ("zst", zstandard.ZstdCompressor().compress),
        ("xz", __import__("lzma").compress),
        ("bz2", __import__("bz2").compress),
        ("none", lambda b: b),
        ("auto", lambda b: b),
    ],
)
def test_clickhouse_encoding_aliases(alias, compress):
    assert b"".join(decode_stream(iter([compress(PAYLOAD)]), alias)) == PAYLOAD


def test_unknown_encoding():
    with pytest.raises(UnsupportedEncodingError):
        list(decode_stream(iter([b"x"]), "snappy-x"))


def test_choose_encoding_follows_client_order():
    assert choose_encoding("lz4, zstd, br, gzip") == "lz4"
    assert choose_encoding("br, gzip;q=0.8") == "gzip"
    assert choose_encoding("gzip;q=0, deflate") == "deflate"
    assert choose_encoding("br") is None
    assert choose_encoding("") is None
