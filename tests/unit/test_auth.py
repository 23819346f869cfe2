import base64
import hashlib

import pytest

from beaconhouse.config import WarehouseUser
from beaconhouse.warehouse.auth import Authenticator, AuthError, check_bind_is_safe, credentials_from

pytestmark = pytest.mark.unit
ALICE = WarehouseUser(name="alice", password_sha256=hashlib.sha256(b"pw").hexdigest(), role="readonly")
OPEN = WarehouseUser(name="default")


def test_credential_sources():
    basic = "Basic " + base64.b64encode(b"alice:pw").decode()
    assert credentials_from({"Authorization": basic}, {}).user == "alice"
    assert credentials_from({"X-ClickHouse-User": "alice", "X-ClickHouse-Key": "pw"}, {}).password == "pw"
    assert credentials_from({}, {"user": "alice", "password": "pw"}).user == "alice"
    assert credentials_from({}, {}).user == "default"
    with pytest.raises(AuthError):
        credentials_from({"Authorization": basic}, {"user": "x"})


def test_authenticate():
    auth = Authenticator([ALICE, OPEN], loopback_only=True)
    creds = credentials_from({}, {"user": "alice", "password": "pw"})
    assert auth.authenticate(creds, "127.0.0.1").role == "readonly"
    for user, password in (("alice", "bad"), ("bob", ""), ("default", "x")):
        with pytest.raises(AuthError, match="Authentication failed"):
            auth.authenticate(credentials_from({}, {"user": user, "password": password}), "127.0.0.1")


def test_passwordless_user_only_from_loopback_when_bound_wide():
    auth = Authenticator([OPEN], loopback_only=False)
    assert auth.authenticate(credentials_from({}, {}), "127.0.0.1").name == "default"
    with pytest.raises(AuthError):
        auth.authenticate(credentials_from({}, {}), "10.1.2.3")


def test_bind_safety():
    check_bind_is_safe("127.0.0.1", [OPEN])
    check_bind_is_safe("::1", [OPEN])
    check_bind_is_safe("0.0.0.0", [ALICE])
    with pytest.raises(
        ValueError, match=r"refusing to listen on 0\.0\.0\.0: user\(s\) default have no password"
    ):
        check_bind_is_safe("0.0.0.0", [ALICE, OPEN])
