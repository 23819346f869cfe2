"""Submit an ingestion task to Druid's Overlord and follow it to its end.

The Overlord's task API: ``POST /druid/indexer/v1/task`` answers ``{"task": id}``;
``GET /druid/indexer/v1/task/{id}/status`` answers the task's ``statusCode``
(``RUNNING``, ``SUCCESS`` or ``FAILED``) and, when it failed, ``errorMsg``. Connection
errors and 5xx answers are retried (a restarting Overlord, a leader change); 4xx
answers are the spec's or the request's fault and end at once.
"""

from __future__ import annotations

import base64
import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from beaconhouse.config import DruidSettings

TASK_PATH = "/druid/indexer/v1/task"


class DruidError(Exception):
    """Druid refused a request, did not answer, or a task failed; the message is one line."""


class DruidTaskFailedError(DruidError):
    """The task ran and ended FAILED."""


class DruidTaskTimeoutError(DruidError):
    """The task did not end within the timeout."""


@dataclass(frozen=True)
class TaskStatus:
    """A task's state, as the Overlord reports it."""

    task_id: str
    #: RUNNING, SUCCESS or FAILED
    status_code: str
    #: the Overlord's duration in ms (-1 while running)
    duration_ms: int
    error: str | None

    @property
    def finished(self) -> bool:
        return self.status_code in ("SUCCESS", "FAILED")


class DruidHttp:
    """JSON over HTTP to one Druid service, with retries on connection errors and 5xx."""

    def __init__(
        self, base_url: str, settings: DruidSettings, sleep: Callable[[float], None] = time.sleep
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.settings = settings
        self._sleep = sleep
        #: requests that were retried (connection errors, 5xx), for the caller's metadata
        self.retried = 0

    def _headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self.settings.username is not None:
            pair = f"{self.settings.username}:{self.settings.password or ''}".encode()
            headers["Authorization"] = "Basic " + base64.b64encode(pair).decode()
        return headers

    def request(self, method: str, path: str, body: Any | None = None) -> Any:
        """The JSON answer of ``method path``; :class:`DruidError` after the last retry."""
        url = self.base_url + path
        data = None if body is None else json.dumps(body).encode()
        attempts = self.settings.request_retries
        for attempt in range(1, attempts + 1):
            # the URL is http(s): DruidSettings validates the scheme
            request = urllib.request.Request(url, data=data, method=method, headers=self._headers())  # noqa: S310
            try:
                with urllib.request.urlopen(request, timeout=self.settings.request_timeout) as response:  # noqa: S310
                    return json.loads(response.read() or b"null")
            except urllib.error.HTTPError as exc:
                detail = _error_detail(exc)
                if exc.code < 500:
                    raise DruidError(f"{method} {url}: HTTP {exc.code}: {detail}") from None
                problem = f"HTTP {exc.code}: {detail}"
            except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
                reason = getattr(exc, "reason", exc)
                problem = f"unreachable ({reason})"
            except json.JSONDecodeError:
                raise DruidError(f"{method} {url}: the answer is not JSON") from None
            if attempt == attempts:
                raise DruidError(f"{method} {url}: {problem}, after {attempts} attempts")
            self.retried += 1
            self._sleep(self.settings.retry_backoff_seconds * attempt)
        raise AssertionError("unreachable")


def _error_detail(exc: urllib.error.HTTPError) -> str:
    raw = exc.read().decode(errors="replace").strip()
    try:
        body = json.loads(raw)
    except json.JSONDecodeError:
        return raw.splitlines()[0][:300] if raw else exc.reason
    if isinstance(body, dict):
        for key in ("error", "errorMessage", "message"):
            if body.get(key):
                return str(body[key]).splitlines()[0][:300]
    return raw[:300]


class OverlordClient:
    """Submit tasks to the Overlord and wait for them."""

    def __init__(
        self,
        settings: DruidSettings,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self.http = DruidHttp(settings.overlord_url, settings, sleep)
        self._sleep = sleep
        self._clock = clock

    def submit(self, task: dict[str, Any]) -> str:
        """POST the task; its id."""
        answer = self.http.request("POST", TASK_PATH, task)
        if not isinstance(answer, dict) or not isinstance(answer.get("task"), str):
            raise DruidError(f"the Overlord's answer to a task has no task id: {str(answer)[:200]}")
        return str(answer["task"])

    def status(self, task_id: str) -> TaskStatus:
        """The task's current status."""
        answer = self.http.request("GET", f"{TASK_PATH}/{urllib.parse.quote(task_id, safe='')}/status")
        status = answer.get("status") if isinstance(answer, dict) else None
        if not isinstance(status, dict):
            raise DruidError(f"task {task_id}: the Overlord reports no status")
        code = str(status.get("statusCode") or status.get("status") or "")
        if code not in ("RUNNING", "SUCCESS", "FAILED"):
            raise DruidError(f"task {task_id}: unknown status {code!r}")
        error = status.get("errorMsg")
        return TaskStatus(task_id, code, int(status.get("duration", -1)), str(error) if error else None)

    def wait(self, task_id: str, on_poll: Callable[[TaskStatus], None] | None = None) -> TaskStatus:
        """Poll until the task ends; raise if it failed or outlived ``task_timeout_seconds``."""
        deadline = self._clock() + self.settings.task_timeout_seconds
        while True:
            status = self.status(task_id)
            if on_poll is not None:
                on_poll(status)
            if status.status_code == "SUCCESS":
                return status
            if status.status_code == "FAILED":
                raise DruidTaskFailedError(f"task {task_id} failed: {status.error or 'no error message'}")
            if self._clock() >= deadline:
                raise DruidTaskTimeoutError(
                    f"task {task_id} still {status.status_code} after "
                    f"{self.settings.task_timeout_seconds:g} s; it keeps running in Druid"
                )
            self._sleep(self.settings.poll_interval_seconds)
