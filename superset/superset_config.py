"""Superset's configuration for beaconhouse (SUPERSET_CONFIG_PATH points here).

Superset imports this file in its own virtual environment, so it depends on nothing
of beaconhouse. Everything local lives under SUPERSET_HOME (`beaconhouse superset`
sets it from `superset.home`, by default .beaconhouse/superset): the SQLite metadata
database and, when SUPERSET_SECRET_KEY is not set, the generated secret key.
"""

import os
from pathlib import Path

_HOME = Path(os.environ.get("SUPERSET_HOME", ".beaconhouse/superset")).resolve()


def _secret_key() -> str:
    # The key signs sessions and encrypts the stored database passwords: it must stay
    # the same across restarts, hence a file when the environment does not give one.
    key = os.environ.get("SUPERSET_SECRET_KEY", "")
    if key:
        return key
    path = _HOME / "secret_key"
    if not path.exists():
        raise RuntimeError(
            f"SUPERSET_SECRET_KEY is not set and {path} does not exist: run `make superset` first"
        )
    return path.read_text().strip()


SECRET_KEY = _secret_key()
SQLALCHEMY_DATABASE_URI = f"sqlite:///{_HOME / 'superset.db'}"
DATA_DIR = str(_HOME)
SUPERSET_WEBSERVER_PORT = 8088

# Analysts read; nothing in Superset writes to the warehouse (the connection's user is
# read-only as well). No example data, no telemetry.
PREVENT_UNSAFE_DB_CONNECTIONS = True
SQLLAB_CTAS_NO_LIMIT = False
FEATURE_FLAGS = {"DASHBOARD_RBAC": False}
