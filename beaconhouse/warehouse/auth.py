"""Who is asking: the credentials of an HTTP request, checked against the users.

chDB runs every query as its one built-in user, so the server authenticates each
request itself and then runs it on a connection carrying that user's role: the
``readonly`` role's connections are opened with ClickHouse's ``readonly`` setting,
which the engine enforces (and which the connection cannot change back).
"""

from __future__ import annotations

import base64
import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from beaconhouse.config import WarehouseUser


class AuthError(Exception):
    """Authentication failed; ``name`` is the ClickHouse exception name."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(message)
        self.name = name
        self.message = message


class HeaderLookup(Protocol):
    """Request headers, looked up case-insensitively (``email.message.Message``)."""

    def get(self, name: str, default: None = None) -> str | None: ...


@dataclass(frozen=True)
class Credentials:
    user: str
    password: str


def credentials_from(headers: HeaderLookup | Mapping[str, str], params: Mapping[str, str]) -> Credentials:
    """Read credentials as ClickHouse does: basic auth, X-ClickHouse-* headers, or params.

    Mixing methods is an error, as in ClickHouse; no credentials at all means the
    ``default`` user with an empty password.
    """
    authorization = headers.get("Authorization") or ""
    header_user = headers.get("X-ClickHouse-User")
    header_key = headers.get("X-ClickHouse-Key")
    param_user = params.get("user")
    param_password = params.get("password")
    used = [
        bool(authorization),
        header_user is not None or header_key is not None,
        param_user is not None or param_password is not None,
    ]
    if sum(used) > 1:
        raise AuthError(
            "AUTHENTICATION_FAILED",
            "Invalid authentication: it is not allowed to use more than one of the "
            "Authorization header, X-ClickHouse-User/Key headers and user/password parameters",
        )
    if authorization:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "basic":
            raise AuthError("AUTHENTICATION_FAILED", f"Unsupported authentication scheme: {scheme}")
        try:
            user, _, password = base64.b64decode(token.strip(), validate=True).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            raise AuthError("AUTHENTICATION_FAILED", "Malformed Basic authorization header") from None
        return Credentials(user or "default", password)
    if used[1]:
        return Credentials(header_user or "default", header_key or "")
    return Credentials(param_user or "default", param_password or "")


class Authenticator:
    """Checks credentials against the configured users."""

    def __init__(self, users: Sequence[WarehouseUser], loopback_only: bool) -> None:
        self._users = {u.name: u for u in users}
        self._loopback_only = loopback_only

    def authenticate(self, credentials: Credentials, client_ip: str) -> WarehouseUser:
        user = self._users.get(credentials.user)
        failed = AuthError(
            "AUTHENTICATION_FAILED",
            f"{credentials.user}: Authentication failed: password is incorrect, "
            "or there is no user with such name.",
        )
        if user is None:
            raise failed
        if not user.password_sha256:
            # A passwordless user only exists for a loopback bind (checked at start);
            # refuse it from elsewhere all the same, in case of a proxy in front.
            if credentials.password or not (self._loopback_only or _is_loopback(client_ip)):
                raise failed
            return user
        if not user.password_matches(credentials.password):
            raise failed
        return user


def is_loopback_host(host: str) -> bool:
    """True when binding to ``host`` only accepts connections from this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _is_loopback(ip: str) -> bool:
    try:
        return ipaddress.ip_address(ip).is_loopback
    except ValueError:
        return False


def check_bind_is_safe(host: str, users: Sequence[WarehouseUser]) -> None:
    """Refuse a non-loopback bind while any user has no password."""
    if is_loopback_host(host):
        return
    open_users = [u.name for u in users if not u.password_sha256]
    if open_users:
        raise ValueError(
            f"refusing to listen on {host}: user(s) {', '.join(open_users)} have no password; "
            "set warehouse.server.users[].password_sha256 or bind to 127.0.0.1"
        )
