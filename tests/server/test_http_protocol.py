"""The embedded server speaks ClickHouse's HTTP protocol: checked over raw HTTP."""

from __future__ import annotations

import gzip
import http.client
import json
import zlib

import lz4.frame
import pytest
import requests
import zstandard

pytestmark = pytest.mark.server


def post(wh, body: bytes | str = b"", params: dict | None = None, headers: dict | None = None, **kw):
    return requests.post(
        f"{wh.url}/", params=params or {}, data=body, headers=headers or {}, timeout=60, **kw
    )


def test_ping_and_replicas_status(warehouse):
    for path in ("/ping", "/replicas_status", "/"):
        response = requests.get(warehouse.url + path, timeout=10)
        assert response.status_code == 200
        assert response.text == "Ok.\n"
    missing = requests.get(warehouse.url + "/nowhere", timeout=10)
    assert missing.status_code == 404
    assert "There is no handle /nowhere" in missing.text


def test_query_in_parameter_in_body_or_both(warehouse):
    assert requests.get(warehouse.url, params={"query": "SELECT 1+1"}, timeout=10).text == "2\n"
    assert post(warehouse, "SELECT 2+2").text == "4\n"
    # As in ClickHouse: the parameter, a newline, then the body.
    assert post(warehouse, "+ 3", params={"query": "SELECT 3"}).text == "6\n"


def test_headers(warehouse):
    response = post(
        warehouse, "SELECT number FROM numbers(5) FORMAT JSONEachRow", params={"query_id": "q-hdr-1"}
    )
    assert response.headers["X-ClickHouse-Query-Id"] == "q-hdr-1"
    assert response.headers["X-ClickHouse-Format"] == "JSONEachRow"
    assert response.headers["X-ClickHouse-Timezone"]
    assert response.headers["X-ClickHouse-Server-Display-Name"] == "beaconhouse-embedded"
    summary = json.loads(response.headers["X-ClickHouse-Summary"])
    assert summary["result_rows"] == "5"
    assert summary["read_rows"] == "5"
    default = post(warehouse, "SELECT 1", params={"default_format": "CSVWithNames"})
    assert default.headers["X-ClickHouse-Format"] == "CSVWithNames"
    assert default.text == '"1"\n1\n'


def test_settings_as_url_parameters_and_query_parameters(warehouse):
    response = post(
        warehouse,
        "SELECT getSetting('max_threads'), {n:UInt8} * 2",
        params={"max_threads": "3", "param_n": "21"},
    )
    assert response.text == "3\t42\n"
    unknown = post(warehouse, "SELECT 1", params={"no_such_setting_xyz": "1"})
    assert unknown.status_code == 404
    assert unknown.headers["X-ClickHouse-Exception-Code"] == "115"
    assert "UNKNOWN_SETTING" in unknown.text


def test_database_parameter(warehouse):
    post(warehouse, "CREATE DATABASE IF NOT EXISTS proto_db")
    assert post(warehouse, "SELECT currentDatabase()", params={"database": "proto_db"}).text == "proto_db\n"


@pytest.mark.parametrize(
    ("sql", "code", "name", "status"),
    [
        ("SELECT * FROM no_such_table", 60, "UNKNOWN_TABLE", 404),
        ("SELEKT 1", 62, "SYNTAX_ERROR", 400),
        ("SELECT no_such_function(1)", 46, "UNKNOWN_FUNCTION", 404),
        ("SELECT throwIf(1)", 395, "FUNCTION_THROW_IF_VALUE_IS_NON_ZERO", 500),
        ("SELECT 1; SELECT 2", 62, "SYNTAX_ERROR", 400),
    ],
)
def test_errors_carry_clickhouse_code_text_and_status(warehouse, sql, code, name, status):
    response = post(warehouse, sql)
    assert response.status_code == status
    assert response.headers["X-ClickHouse-Exception-Code"] == str(code)
    assert response.text.startswith(f"Code: {code}. DB::Exception: ")
    assert f"({name})" in response.text
    assert "(version 26." in response.text


def test_get_is_readonly(warehouse):
    response = requests.get(
        warehouse.url, params={"query": "CREATE TABLE get_made (x UInt8) ENGINE=Memory"}, timeout=10
    )
    assert response.headers["X-ClickHouse-Exception-Code"] == "164"
    assert "method GET implies readonly" in response.text


def test_insert_data_in_body_with_content_length(warehouse):
    post(warehouse, "CREATE TABLE IF NOT EXISTS proto_ins (a UInt32, s String) ENGINE = MergeTree ORDER BY a")
    post(warehouse, "TRUNCATE TABLE proto_ins")
    response = post(warehouse, "INSERT INTO proto_ins FORMAT TabSeparated\n1\tone\n2\ttwo\n")
    assert response.status_code == 200, response.text
    assert json.loads(response.headers["X-ClickHouse-Summary"])["written_rows"] == "2"
    # Query in the parameter, data in the body.
    post(warehouse, '{"a": 3, "s": "three"}\n', params={"query": "INSERT INTO proto_ins FORMAT JSONEachRow"})
    # VALUES inline.
    post(warehouse, "INSERT INTO proto_ins VALUES (4, 'four'), (5, 'fi''ve')")
    rows = post(
        warehouse, "SELECT a, s FROM proto_ins ORDER BY a FORMAT JSONCompactEachRow"
    ).text.splitlines()
    assert rows == ['[1, "one"]', '[2, "two"]', '[3, "three"]', '[4, "four"]', '[5, "fi\'ve"]']


def test_insert_chunked_body_streams(warehouse):
    post(warehouse, "CREATE TABLE IF NOT EXISTS proto_chunked (n UInt64) ENGINE = MergeTree ORDER BY n")
    post(warehouse, "TRUNCATE TABLE proto_chunked")

    def body():
        yield b"INSERT INTO proto_chunked FORMAT CSV\n"
        for start in range(0, 200_000, 10_000):
            yield "".join(f"{n}\n" for n in range(start, start + 10_000)).encode()

    response = post(warehouse, body())  # a generator body is sent chunked
    assert response.status_code == 200, response.text
    assert (
        post(warehouse, "SELECT count(), sum(n) FROM proto_chunked").text
        == f"200000\t{sum(range(200_000))}\n"
    )


def test_bad_insert_data_is_rejected_with_parse_error(warehouse):
    post(warehouse, "CREATE TABLE IF NOT EXISTS proto_bad (a UInt32) ENGINE = MergeTree ORDER BY a")
    response = post(warehouse, "INSERT INTO proto_bad FORMAT CSV\n1\nnot-a-number\n")
    assert response.status_code == 400
    assert response.headers["X-ClickHouse-Exception-Code"] == "117"
    assert "(INCORRECT_DATA)" in response.text
    assert "not-a-numb" in response.text


@pytest.mark.parametrize(
    ("encoding", "compress"),
    [
        ("gzip", gzip.compress),
        ("deflate", zlib.compress),
        ("zstd", lambda b: zstandard.ZstdCompressor().compress(b)),
        ("lz4", lz4.frame.compress),
    ],
)
def test_compressed_request_bodies(warehouse, encoding, compress):
    post(
        warehouse, "CREATE TABLE IF NOT EXISTS proto_enc (enc String, n UInt32) ENGINE = MergeTree ORDER BY n"
    )
    data = "".join(f"{encoding}\t{n}\n" for n in range(1000)).encode()
    # Two frames back to back, as a client compressing block by block would send.
    body = compress(b"INSERT INTO proto_enc FORMAT TSV\n" + data[:5000]) + compress(data[5000:])
    response = post(warehouse, body, headers={"Content-Encoding": encoding})
    assert response.status_code == 200, response.text
    count = post(warehouse, f"SELECT count() FROM proto_enc WHERE enc = '{encoding}'").text
    assert count == "1000\n"


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "zstd", "lz4"])
def test_compressed_responses(warehouse, encoding):
    sql = "SELECT number FROM numbers(100000)"
    conn = http.client.HTTPConnection("127.0.0.1", warehouse.port, timeout=30)
    conn.request("POST", "/?enable_http_compression=1", body=sql, headers={"Accept-Encoding": encoding})
    response = conn.getresponse()
    raw = response.read()
    assert response.getheader("Content-Encoding") == encoding
    decoded = {
        "gzip": gzip.decompress,
        "deflate": zlib.decompress,
        "zstd": lambda b: zstandard.ZstdDecompressor().decompressobj().decompress(b),
        "lz4": lz4.frame.decompress,
    }[encoding](raw)
    assert decoded == "".join(f"{n}\n" for n in range(100000)).encode()
    assert len(raw) < len(decoded)
    # Without enable_http_compression the response is plain, whatever the client accepts.
    conn.request("POST", "/", body=sql, headers={"Accept-Encoding": encoding})
    plain = conn.getresponse()
    assert plain.getheader("Content-Encoding") is None
    assert len(plain.read()) == len(decoded)


def test_large_results_stream_chunked(warehouse):
    rows = 3_000_000
    with requests.post(
        f"{warehouse.url}/", data=f"SELECT number FROM numbers({rows})", stream=True, timeout=120
    ) as response:
        assert response.headers.get("Transfer-Encoding") == "chunked"
        assert "Content-Length" not in response.headers
        total = lines = 0
        for chunk in response.iter_content(1 << 16):
            total += len(chunk)
            lines += chunk.count(b"\n")
    assert lines == rows
    assert total == sum(len(str(n)) + 1 for n in range(rows))


@pytest.mark.parametrize(
    ("fmt", "check"),
    [
        ("CSVWithNames", lambda b: b.count(b'"number"') == 1 and b.count(b"\n") == 500_001),
        ("TSVWithNamesAndTypes", lambda b: b.count(b"UInt64") == 1 and b.count(b"\n") == 500_002),
        ("JSONCompactEachRowWithNames", lambda b: b.count(b'["number"]') == 1),
        ("JSON", lambda b: json.loads(b)["rows"] == 500_000),
    ],
)
def test_formats_with_headers_stay_whole_when_streamed(warehouse, fmt, check):
    body = post(warehouse, f"SELECT number FROM numbers(500000) FORMAT {fmt}").content
    assert check(body)


def test_rowbinary_with_names_and_types_streams_one_header(warehouse):
    body = post(
        warehouse, "SELECT number AS n FROM numbers(400000) FORMAT RowBinaryWithNamesAndTypes"
    ).content
    header = b"\x01\x01n\x06UInt64"
    assert body.startswith(header)
    assert len(body) == len(header) + 8 * 400_000


def test_query_id_already_running_is_refused(warehouse):
    import threading

    started = threading.Event()
    results = {}

    def slow():
        started.set()
        results["slow"] = post(warehouse, "SELECT sleep(1)", params={"query_id": "dup-q"})

    thread = threading.Thread(target=slow)
    thread.start()
    started.wait()
    import time

    time.sleep(0.3)
    second = post(warehouse, "SELECT 1", params={"query_id": "dup-q"})
    thread.join()
    assert results["slow"].status_code == 200
    assert second.headers["X-ClickHouse-Exception-Code"] == "216"


def test_query_parameters_inside_values(warehouse):
    post(
        warehouse,
        "CREATE TABLE IF NOT EXISTS proto_params (v UInt32, s String) ENGINE = MergeTree ORDER BY v",
    )
    response = post(
        warehouse,
        "INSERT INTO proto_params VALUES ({v:UInt32}, {s:String})",
        params={"param_v": "42", "param_s": "it's"},
    )
    assert response.status_code == 200, response.text
    assert post(warehouse, "SELECT v, s FROM proto_params WHERE v = 42 FORMAT TSVRaw").text == "42\tit's\n"


def _peak_rss_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM")


def test_large_result_is_not_held_whole_in_server_memory(warehouse):
    pid = warehouse.server.process.pid
    post(warehouse, "SELECT 1")
    before = _peak_rss_bytes(pid)
    total = 0
    sql = "SELECT number, toString(number * 7) FROM numbers(20000000)"
    with requests.post(f"{warehouse.url}/", data=sql, stream=True, timeout=300) as response:
        for chunk in response.iter_content(1 << 20):
            total += len(chunk)
    assert total > 300_000_000
    # The server's peak memory grew by a fraction of the result it sent.
    assert _peak_rss_bytes(pid) - before < total / 3
