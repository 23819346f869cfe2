import pytest

from beaconhouse.warehouse.sql_scan import ScanError, content_type, scan, stream_mode

pytestmark = pytest.mark.unit


def test_insert_format_data_starts_after_first_newline():
    text = "INSERT INTO t (a, b) FORMAT Native\n\x00\x01binary"
    st = scan(text)
    assert st.kind == "INSERT"
    assert st.insert_head == "INSERT INTO t (a, b)"
    assert st.insert_format == "Native"
    assert text[st.data_offset :] == "\x00\x01binary"


def test_insert_format_without_newline_skips_spaces_only():
    text = "INSERT INTO t FORMAT CSV   1,2\n"
    assert text[scan(text).data_offset :] == "1,2\n"
    crlf = "INSERT INTO t FORMAT TSV \r\n\n1\n"
    # Only the first newline ends the statement; the next is data.
    assert crlf[scan(crlf).data_offset :] == "\n1\n"


def test_insert_values_and_settings():
    text = "INSERT INTO db.t SETTINGS async_insert=0, format_csv_delimiter=';' VALUES (1, 'a')"
    st = scan(text)
    assert st.insert_format == "Values"
    assert st.insert_head == "INSERT INTO db.t SETTINGS async_insert=0, format_csv_delimiter=';'"
    assert text[st.data_offset :] == "(1, 'a')"


def test_insert_select_has_no_inline_data():
    st = scan("INSERT INTO t SELECT * FROM format(JSONEachRow, '{\"a\":1}')")
    assert st.kind == "INSERT"
    assert st.data_offset is None


def test_format_clause_detection_ignores_columns_strings_and_comments():
    assert scan("SELECT 1 FORMAT JSON").format == "JSON"
    assert scan("SELECT 1 FORMAT JSONEachRow SETTINGS max_threads=1;").format == "JSONEachRow"
    assert scan("SELECT format FROM t").format is None
    assert scan("SELECT format, x FROM t WHERE s = 'FORMAT JSON'").format is None
    assert scan("SELECT 1 -- FORMAT JSON\n").format is None
    assert scan("SELECT 1 /* nested /* FORMAT CSV */ */").format is None
    assert scan("SELECT formatReadableSize(1) FORMAT `TSV`").format == "TSV"


def test_kind_and_multi_statements():
    assert scan("  (SELECT 1) UNION ALL (SELECT 2)").kind == "SELECT"
    assert scan("with 1 as x select x").kind == "WITH"
    assert scan("SELECT 1;").kind == "SELECT"
    assert scan("SELECT 1; -- trailing comment\n").kind == "SELECT"
    with pytest.raises(ScanError, match="Multi-statements"):
        scan("SELECT 1; SELECT 2")


def test_unterminated_string_is_a_scan_error():
    with pytest.raises(ScanError):
        scan("SELECT 'oops")


def test_stream_modes_and_content_types():
    assert stream_mode("Native") == "concat"
    assert stream_mode("CSVWithNames") == "text-header"
    assert stream_mode("RowBinaryWithNamesAndTypes") == "binary-header"
    assert stream_mode("ArrowStream") == "arrow-stream"
    assert stream_mode("JSON") == "buffer"
    assert stream_mode("Parquet") == "buffer"
    assert content_type("TabSeparated").startswith("text/tab-separated-values")
    assert content_type("JSONCompact").startswith("application/json")
    assert content_type("Native") == "application/octet-stream"
