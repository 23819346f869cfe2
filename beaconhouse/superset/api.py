"""A small client of Superset's REST API (``/api/v1``), logged in as a user.

It logs in through ``/api/v1/security/login`` (a JWT for the ``Authorization``
header) and fetches a CSRF token, which Superset asks for on every write even with a
JWT; the session cookie that goes with that token stays in the ``requests`` session.
"""

from __future__ import annotations

import json
from typing import Any

import requests


class SupersetApiError(Exception):
    """Superset refused a request or did not answer; the message is one line."""


class SupersetApi:
    """Logged-in requests to one Superset."""

    def __init__(self, url: str, username: str, password: str, timeout: float = 120.0) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.session = requests.Session()
        login = self._call(
            "POST",
            "/api/v1/security/login",
            json={"username": username, "password": password, "provider": "db", "refresh": False},
        )
        self.session.headers["Authorization"] = f"Bearer {login['access_token']}"
        csrf = self._call("GET", "/api/v1/security/csrf_token/")
        self.session.headers["X-CSRFToken"] = csrf["result"]
        self.session.headers["Referer"] = self.url

    def get(self, path: str, **params: Any) -> Any:
        return self._call("GET", path, params=params or None)

    def post(self, path: str, body: dict[str, Any]) -> Any:
        return self._call("POST", path, json=body)

    def put(self, path: str, body: dict[str, Any]) -> Any:
        return self._call("PUT", path, json=body)

    def find(self, resource: str, column: str, value: str) -> list[dict[str, Any]]:
        """The objects of ``resource`` (chart, dataset, …) whose ``column`` equals ``value``."""
        query = f"(filters:!((col:{column},opr:eq,value:{rison_string(value)})),page_size:100)"
        found: list[dict[str, Any]] = self.get(f"/api/v1/{resource}/", q=query)["result"]
        return found

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self.session.request(method, self.url + path, timeout=self.timeout, **kwargs)
        except requests.RequestException as exc:
            raise SupersetApiError(f"cannot reach Superset at {self.url}: {type(exc).__name__}") from None
        if response.status_code >= 400:
            raise SupersetApiError(f"{method} {path}: HTTP {response.status_code}: {response.text[:500]}")
        try:
            return response.json()
        except json.JSONDecodeError:
            raise SupersetApiError(f"{method} {path}: not JSON: {response.text[:200]}") from None


def rison_string(value: str) -> str:
    """``value`` as a quoted Rison string (the ``q`` parameter's notation)."""
    return "'" + value.replace("!", "!!").replace("'", "!'") + "'"
