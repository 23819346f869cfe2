"""Sessions, users and roles, and parallel clients against the embedded server."""

from __future__ import annotations

import base64
import threading
import time
import uuid

import pytest
import requests

from tests.conftest import USERS

pytestmark = pytest.mark.server


def post(wh, body, params=None, headers=None):
    return requests.post(f"{wh.url}/", params=params or {}, data=body, headers=headers or {}, timeout=60)


def test_session_keeps_settings_and_temporary_tables(warehouse):
    sid = f"s-{uuid.uuid4()}"
    assert post(warehouse, "SET max_threads = 5", {"session_id": sid}).status_code == 200
    created = post(warehouse, "CREATE TEMPORARY TABLE tmp_s (x UInt8)", {"session_id": sid})
    assert created.status_code == 200, created.text
    post(warehouse, "INSERT INTO tmp_s VALUES (7)", {"session_id": sid})
    assert (
        post(warehouse, "SELECT getSetting('max_threads'), sum(x) FROM tmp_s", {"session_id": sid}).text
        == "5\t7\n"
    )
    # Another session, or none, sees neither.
    other = post(warehouse, "SELECT * FROM tmp_s", {"session_id": f"s-{uuid.uuid4()}"})
    assert other.headers["X-ClickHouse-Exception-Code"] == "60"
    assert post(warehouse, "SELECT getSetting('max_threads') = 5").text == "0\n"


def test_url_settings_apply_to_one_request_in_a_session(warehouse):
    sid = f"s-{uuid.uuid4()}"
    assert (
        post(warehouse, "SELECT getSetting('max_threads')", {"session_id": sid, "max_threads": "6"}).text
        == "6\n"
    )
    assert post(warehouse, "SELECT getSetting('max_threads') = 6", {"session_id": sid}).text == "0\n"


def test_session_timeout_and_check(warehouse):
    sid = f"s-{uuid.uuid4()}"
    missing = post(warehouse, "SELECT 1", {"session_id": sid, "session_check": "1"})
    assert missing.headers["X-ClickHouse-Exception-Code"] == "372"  # SESSION_NOT_FOUND
    post(warehouse, "CREATE TEMPORARY TABLE t_exp (x UInt8)", {"session_id": sid, "session_timeout": "1"})
    assert (
        post(
            warehouse,
            "SELECT count() FROM t_exp",
            {"session_id": sid, "session_check": "1", "session_timeout": "1"},
        ).text
        == "0\n"
    )
    time.sleep(2.5)
    expired = post(warehouse, "SELECT 1", {"session_id": sid, "session_check": "1"})
    assert expired.headers["X-ClickHouse-Exception-Code"] == "372"
    too_long = post(warehouse, "SELECT 1", {"session_id": sid, "session_timeout": "999999"})
    assert too_long.status_code != 200


def test_concurrent_request_in_one_session_is_refused(warehouse):
    sid = f"s-{uuid.uuid4()}"
    slow = threading.Thread(target=post, args=(warehouse, "SELECT sleep(1)", {"session_id": sid}))
    slow.start()
    time.sleep(0.3)
    busy = post(warehouse, "SELECT 1", {"session_id": sid})
    slow.join()
    assert busy.headers["X-ClickHouse-Exception-Code"] == "373"  # SESSION_IS_LOCKED


def test_wrong_password_and_unknown_user_are_rejected(warehouse):
    for user, password in (("loader", "wrong"), ("nobody", "x"), ("loader", "")):
        response = post(
            warehouse, "SELECT 1", headers={"X-ClickHouse-User": user, "X-ClickHouse-Key": password}
        )
        assert response.status_code == 403
        assert response.headers["X-ClickHouse-Exception-Code"] == "516"
        assert "Authentication failed" in response.text
    with pytest.raises(Exception, match="Authentication failed"):
        warehouse.client("loader", "wrong")


def test_every_credential_style_is_accepted(warehouse):
    password = USERS["loader"][0]
    basic = base64.b64encode(f"loader:{password}".encode()).decode()
    assert post(warehouse, "SELECT 1", headers={"Authorization": f"Basic {basic}"}).text == "1\n"
    assert (
        post(
            warehouse, "SELECT 1", headers={"X-ClickHouse-User": "loader", "X-ClickHouse-Key": password}
        ).text
        == "1\n"
    )
    assert post(warehouse, "SELECT 1", params={"user": "loader", "password": password}).text == "1\n"
    mixed = post(
        warehouse, "SELECT 1", params={"user": "loader"}, headers={"Authorization": f"Basic {basic}"}
    )
    assert mixed.headers["X-ClickHouse-Exception-Code"] == "516"


def test_readonly_user_reads_but_cannot_write(warehouse):
    loader = warehouse.client("loader", USERS["loader"][0])
    loader.command("CREATE TABLE IF NOT EXISTS ro_check (x UInt8) ENGINE = MergeTree ORDER BY x")
    loader.command("INSERT INTO ro_check VALUES (1)")
    analyst = warehouse.client("analyst", USERS["analyst"][0])
    assert analyst.query("SELECT count() FROM ro_check").result_rows == [(1,)]
    for statement in (
        "INSERT INTO ro_check VALUES (2)",
        "CREATE TABLE ro_new (x UInt8) ENGINE = Memory",
        "DROP TABLE ro_check",
        "SET readonly = 0",
    ):
        with pytest.raises(Exception, match=r"readonly|READONLY"):
            analyst.command(statement)
    with pytest.raises(Exception, match=r"readonly|READONLY"):
        analyst.insert("ro_check", [[3]], column_names=["x"])
    assert loader.query("SELECT count() FROM ro_check").result_rows == [(1,)]


def test_twenty_concurrent_clients(warehouse):
    setup = warehouse.client()
    setup.command(
        "CREATE TABLE IF NOT EXISTS conc (client UInt8, n UInt32) ENGINE = MergeTree ORDER BY (client, n)"
    )
    setup.command("TRUNCATE TABLE conc")
    errors: list[BaseException] = []
    results: dict[int, int] = {}

    def work(i: int) -> None:
        try:
            client = warehouse.client()  # each with its own session, as clickhouse-connect does
            client.insert("conc", [[i, n] for n in range(5000)], column_names=["client", "n"])
            for _ in range(5):
                total = client.query("SELECT sum(number) FROM numbers(2000000)").result_rows[0][0]
                assert total == sum(range(2_000_000))
            results[i] = client.query(
                "SELECT count() FROM conc WHERE client = {c:UInt8}", parameters={"c": i}
            ).result_rows[0][0]
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not errors, errors[:3]
    assert results == dict.fromkeys(range(20), 5000)
    assert setup.query("SELECT count() FROM conc").result_rows == [(100_000,)]


def test_back_to_back_requests_in_one_session_never_see_it_locked(warehouse):
    # Each request on a new connection, sent the moment the previous answer arrived:
    # the server must have released the session before its answer was complete.
    sid = f"s-{uuid.uuid4()}"
    post(warehouse, "CREATE TEMPORARY TABLE seq (n UInt32)", {"session_id": sid})
    for n in range(200):
        response = post(warehouse, f"INSERT INTO seq VALUES ({n})", {"session_id": sid})
        assert response.status_code == 200, response.text
    assert (
        post(warehouse, "SELECT count(), sum(n) FROM seq", {"session_id": sid}).text
        == f"200\t{sum(range(200))}\n"
    )
