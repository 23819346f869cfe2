"""HTTP sessions: a ``session_id`` keeps its SET settings and temporary tables.

Each session owns one engine connection. A session serves one request at a time
(ClickHouse answers SESSION_IS_LOCKED to a concurrent one) and expires after its
timeout of inactivity.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from beaconhouse.warehouse.engine import Connection


class SessionError(Exception):
    def __init__(self, name: str, message: str) -> None:
        super().__init__(message)
        self.name = name
        self.message = message


@dataclass
class Session:
    key: tuple[str, str]
    connection: Connection
    timeout: float
    expires_at: float
    lock: threading.Lock = field(default_factory=threading.Lock)
    #: URL settings applied for the current request only: name -> (value, value before)
    url_settings: dict[str, tuple[str, str]] = field(default_factory=dict)


class SessionRegistry:
    """Sessions by (user, session_id), with a reaper for expired ones."""

    def __init__(self, connect: Callable[[str], Connection], max_timeout: float) -> None:
        self._connect = connect
        self._max_timeout = max_timeout
        self._sessions: dict[tuple[str, str], Session] = {}
        self._guard = threading.Lock()

    def acquire(self, user: str, session_id: str, timeout: float, check: bool) -> Session:
        """The session, locked for this request; created unless ``check`` is set."""
        if timeout > self._max_timeout:
            raise SessionError(
                "INVALID_SESSION_TIMEOUT",
                f"Session timeout {timeout:g} is larger than max_session_timeout: {self._max_timeout:g}",
            )
        key = (user, session_id)
        now = time.monotonic()
        with self._guard:
            session = self._sessions.get(key)
            if session is not None and session.expires_at <= now and not session.lock.locked():
                self._drop(key)
                session = None
            if session is None:
                if check:
                    raise SessionError("SESSION_NOT_FOUND", f"Session {session_id} not found")
                session = Session(key, self._connect(user), timeout, now + timeout)
                self._sessions[key] = session
            if not session.lock.acquire(blocking=False):
                raise SessionError(
                    "SESSION_IS_LOCKED", f"Session {session_id} is locked by a concurrent client"
                )
            session.timeout = timeout
            return session

    def release(self, session: Session) -> None:
        session.expires_at = time.monotonic() + session.timeout
        session.lock.release()

    def reap(self) -> int:
        """Close sessions idle past their timeout; returns how many."""
        now = time.monotonic()
        with self._guard:
            expired = [k for k, s in self._sessions.items() if s.expires_at <= now and not s.lock.locked()]
            for key in expired:
                self._drop(key)
        return len(expired)

    def close_all(self) -> None:
        with self._guard:
            for key in list(self._sessions):
                self._drop(key)

    def __len__(self) -> int:
        return len(self._sessions)

    def _drop(self, key: tuple[str, str]) -> None:
        session = self._sessions.pop(key)
        session.connection.close()
