"""Shared fixtures: a real embedded warehouse server, started on a free port."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from beaconhouse.warehouse.process import EmbeddedWarehouse

USERS = {
    # name: (password, role)
    "loader": ("loader-secret", "readwrite"),
    "analyst": ("analyst-secret", "readonly"),
}


def write_config(path: Path, extra: str = "") -> Path:
    """A beaconhouse.toml with a passwordless default user and two password users."""
    lines = ["[[warehouse.server.users]]", 'name = "default"', 'role = "readwrite"', ""]
    for name, (password, role) in USERS.items():
        digest = hashlib.sha256(password.encode()).hexdigest()
        lines += [
            "[[warehouse.server.users]]",
            f'name = "{name}"',
            f'password_sha256 = "{digest}"',
            f'role = "{role}"',
            "",
        ]
    path.write_text("\n".join(lines) + extra)
    return path


@dataclass
class RunningWarehouse:
    server: EmbeddedWarehouse
    config: Path

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def port(self) -> int:
        return self.server.port

    def client(self, user: str = "default", password: str = "", **kwargs: Any) -> Any:
        import clickhouse_connect

        return clickhouse_connect.get_client(
            host="127.0.0.1", port=self.port, username=user, password=password, **kwargs
        )


@pytest.fixture(scope="session")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningWarehouse]:
    root = tmp_path_factory.mktemp("warehouse")
    config = write_config(root / "beaconhouse.toml")
    with EmbeddedWarehouse(root / "data", config=config) as server:
        yield RunningWarehouse(server, config)
