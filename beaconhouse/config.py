"""One typed configuration for every beaconhouse command.

It is read when a command runs, never at import: from a TOML file (``--config`` or
``BEACONHOUSE_CONFIG``, else ``./beaconhouse.toml`` when present), then overridden by
``BEACONHOUSE_*`` environment variables. Nested keys use a double underscore:
``BEACONHOUSE_WAREHOUSE__PASSWORD`` sets ``warehouse.password``.

Any wrong or missing setting raises :class:`ConfigError`, whose message is one line
naming the key, so the CLI can print it without a traceback.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

ENV_PREFIX = "BEACONHOUSE_"
CONFIG_PATH_ENV = "BEACONHOUSE_CONFIG"
DEFAULT_CONFIG_FILE = "beaconhouse.toml"
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class ConfigError(Exception):
    """A setting is wrong or missing. The message is one line naming the key."""


class _Section(BaseModel):
    # Unknown keys are typos far more often than intent: reject them by name.
    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_identifier(value: str) -> str:
    if not _IDENTIFIER.match(value):
        raise ValueError(f"{value!r} is not a plain identifier (letters, digits, _)")
    return value


class WarehouseUser(_Section):
    """A user of the embedded warehouse server."""

    name: str = Field(min_length=1)
    #: hex sha256 of the password; empty means no password.
    password_sha256: str = ""
    role: Literal["readwrite", "readonly"] = "readwrite"

    @field_validator("password_sha256")
    @classmethod
    def _hex_digest(cls, value: str) -> str:
        if value and not re.fullmatch(r"[0-9a-fA-F]{64}", value):
            raise ValueError("must be the 64-character hex sha256 of the password")
        return value.lower()

    def password_matches(self, password: str) -> bool:
        """True when ``password`` hashes to this user's ``password_sha256``."""
        digest = hashlib.sha256(password.encode()).hexdigest()
        return _constant_time_equal(digest, self.password_sha256)


def _constant_time_equal(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


class EmbeddedServerSettings(_Section):
    """``beaconhouse warehouse serve``: ClickHouse's HTTP interface over chDB."""

    data_dir: Path = Path(".beaconhouse/warehouse")
    host: str = "127.0.0.1"
    port: int = Field(default=8123, ge=0, le=65535)
    display_name: str = "beaconhouse-embedded"
    #: seconds an idle HTTP session lives unless the client asks otherwise
    session_timeout: int = Field(default=60, ge=1)
    max_session_timeout: int = Field(default=3600, ge=1)
    #: bytes of a result buffered before the response starts streaming
    response_buffer_bytes: int = Field(default=1 << 20, ge=0)
    max_query_size: int = Field(default=262_144, ge=1024)
    users: tuple[WarehouseUser, ...] = (WarehouseUser(name="default"),)

    @field_validator("users")
    @classmethod
    def _unique_users(cls, users: tuple[WarehouseUser, ...]) -> tuple[WarehouseUser, ...]:
        names = [u.name for u in users]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"duplicate user name(s): {', '.join(dupes)}")
        if not users:
            raise ValueError("at least one user is required")
        return users


class WarehouseSettings(_Section):
    """How every client reaches ClickHouse (embedded or production), over HTTP."""

    url: str = "http://127.0.0.1:8123"
    user: str = "default"
    password: str = ""
    raw_database: str = "raw"
    marts_database: str = "marts"
    meta_database: str = "beaconhouse"
    #: a cluster name renders ON CLUSTER, Replicated engines and Distributed tables
    cluster: str | None = None
    connect_timeout: float = Field(default=10.0, gt=0)
    send_receive_timeout: float = Field(default=300.0, gt=0)
    #: compression inside the Parquet files the loaders send (docs/dlt-clickhouse-http.md): none
    #: costs the loader least; snappy or zstd send fewer bytes to a distant server
    load_file_compression: Literal["none", "snappy", "zstd", "lz4", "gzip", "brotli"] = "none"
    server: EmbeddedServerSettings = EmbeddedServerSettings()

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not re.match(r"^https?://[^/\s]+", value):
            raise ValueError("must be an http:// or https:// URL, e.g. http://127.0.0.1:8123")
        return value.rstrip("/")

    @field_validator("raw_database", "marts_database", "meta_database")
    @classmethod
    def _database_name(cls, value: str) -> str:
        return _check_identifier(value)

    @field_validator("cluster")
    @classmethod
    def _cluster_name(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        assert value is not None
        return _check_identifier(value)


#: librdkafka settings the Kafka loader decides itself: its exactly-once design
#: depends on them (docs/kafka.md), so ``consumer_options`` may not set them.
KAFKA_LOADER_OWNED_OPTIONS = frozenset(
    {
        "bootstrap.servers",
        "group.id",
        "enable.auto.commit",
        "enable.auto.offset.store",
        "auto.offset.reset",
        "partition.assignment.strategy",
        "group.protocol",
        "enable.partition.eof",
        "isolation.level",
    }
)


class KafkaSettings(_Section):
    """The event stream. SASL/TLS options pass through to librdkafka."""

    bootstrap_servers: str = "127.0.0.1:9092"
    topic: str = "beaconhouse.events"
    group_id: str = "beaconhouse-loader"
    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    #: PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 (MSK: SCRAM-SHA-512), OAUTHBEARER, GSSAPI
    sasl_mechanism: str | None = None
    sasl_username: str | None = None
    sasl_password: str | None = Field(default=None, repr=False)
    ssl_ca_location: str | None = None
    #: client certificate and key, for brokers that authenticate clients by TLS (mTLS)
    ssl_certificate_location: str | None = None
    ssl_key_location: str | None = None
    ssl_key_password: str | None = Field(default=None, repr=False)
    #: the loader: messages per batch (``ingest kafka --max-batch``). 100k: on 2 cores,
    #: with Arrow on jemalloc, 59-64k rows/s at a 0.89 GB peak, against 49k at 0.69 GB
    #: for 50k (docs/kafka.md). Memory grows with it, and with the messages' size.
    max_batch_messages: int = Field(default=100_000, ge=1, le=1_000_000)
    #: ... and bytes of message values per batch at most, whatever their size: 100k
    #: messages of the 64 KB a payload may have would be 6.4 GB (docs/kafka.md)
    max_batch_bytes: int = Field(default=128 << 20, ge=1)
    #: parse each batch in a worker process while the loader lands the one before
    #: (unset: where there are two cores or more; docs/kafka.md)
    parse_worker: bool | None = None
    #: a member silent this long leaves the group and its partitions move
    session_timeout_ms: int = Field(default=45_000, ge=1)
    heartbeat_interval_ms: int = Field(default=3_000, ge=1)
    #: a member that does not poll this long (a load stuck longer) leaves the group
    max_poll_interval_ms: int = Field(default=600_000, ge=1)
    #: how soon partitions added to the topic are seen (librdkafka's default is 5 min)
    metadata_refresh_interval_ms: int = Field(default=60_000, ge=1)
    #: any other librdkafka consumer setting, e.g. {"ssl.endpoint.identification.algorithm" = "none"}
    consumer_options: dict[str, str | int | float | bool] = Field(default_factory=dict)

    @field_validator("consumer_options")
    @classmethod
    def _not_loader_owned(
        cls, value: dict[str, str | int | float | bool]
    ) -> dict[str, str | int | float | bool]:
        owned = sorted(KAFKA_LOADER_OWNED_OPTIONS & set(value))
        if owned:
            raise ValueError(
                f"{', '.join(owned)}: set by the loader itself (exactly-once depends on it); "
                "use the [kafka] keys or the command's flags"
            )
        return value

    @model_validator(mode="after")
    def _heartbeat_within_session(self) -> KafkaSettings:
        if self.heartbeat_interval_ms >= self.session_timeout_ms:
            raise ValueError("heartbeat_interval_ms must be below session_timeout_ms")
        return self


class S3Settings(_Section):
    """An S3 or S3-compatible endpoint (SeaweedFS, MinIO, moto)."""

    endpoint_url: str | None = None
    region: str = "us-east-1"
    access_key_id: str | None = None
    secret_access_key: str | None = None


class LandingSettings(_Section):
    """Where event files land: a local folder or an ``s3://bucket/prefix``."""

    url: str = ".beaconhouse/landing"


class ArchiveSettings(_Section):
    """Where retention writes its verified Parquet archive: a folder or ``s3://``."""

    url: str = ".beaconhouse/archive"
    #: days a restored site-day stays in raw.events before the archive job drops it again
    restore_hold_days: int = Field(default=7, ge=0)


#: Druid's query granularities the export can roll up to (ClickHouse interval of each)
DRUID_GRANULARITIES = {
    "minute": "1 MINUTE",
    "fifteen_minute": "15 MINUTE",
    "thirty_minute": "30 MINUTE",
    "hour": "1 HOUR",
    "day": "1 DAY",
}


class DruidSettings(_Section):
    """The Druid aggregation store: where the daily rollup is exported, and the cluster
    (Overlord for ingestion tasks, Broker for queries) that ingests it."""

    overlord_url: str = "http://127.0.0.1:8081"
    broker_url: str = "http://127.0.0.1:8082"
    #: basic-auth credentials, when the cluster runs druid-basic-security
    username: str | None = None
    password: str | None = Field(default=None, repr=False)
    datasource: str = "beaconhouse_page_views"
    #: the rollup's time resolution: the export and Druid's queryGranularity
    query_granularity: Literal["minute", "fifteen_minute", "thirty_minute", "hour", "day"] = "hour"
    #: where the Parquet export goes (folder or s3://bucket/prefix); empty: <archive.url>/druid
    export_url: str = ""
    #: Druid's theta sketch size for visitors and sessions (a power of 2)
    sketch_size: int = Field(default=16384, ge=16, le=67_108_864)
    #: seconds one HTTP request to the Overlord or Broker may take
    request_timeout: float = Field(default=30.0, gt=0)
    #: attempts of a request that met a connection error or a 5xx answer
    request_retries: int = Field(default=3, ge=1, le=20)
    retry_backoff_seconds: float = Field(default=2.0, ge=0)
    #: how often a task's status is asked, and how long it may take before we give up
    poll_interval_seconds: float = Field(default=5.0, gt=0)
    task_timeout_seconds: float = Field(default=3600.0, gt=0)
    #: relative difference allowed between Druid's sketch counts and the marts' exact ones
    distinct_tolerance: float = Field(default=0.025, ge=0, le=1)

    @field_validator("overlord_url", "broker_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not re.match(r"^https?://[^/\s]+", value):
            raise ValueError("must be an http:// or https:// URL, e.g. http://127.0.0.1:8081")
        return value.rstrip("/")

    @field_validator("datasource")
    @classmethod
    def _datasource_name(cls, value: str) -> str:
        return _check_identifier(value)

    @field_validator("sketch_size")
    @classmethod
    def _power_of_two(cls, value: int) -> int:
        if value & (value - 1):
            raise ValueError("must be a power of 2 (Druid's thetaSketch size)")
        return value


#: Used when no secret is configured: fine on a laptop, never in production (the
#: cookieless visitor id is only as private as this key).
DEV_VISITOR_ID_SECRET = "beaconhouse-development-only-visitor-key"  # noqa: S105 - documented dev default


class IngestSettings(_Section):
    """How the loaders validate and enrich events."""

    #: key of the cookieless visitor hash (BLAKE2b); at least 16 characters, keep secret
    visitor_id_secret: str = Field(default=DEV_VISITOR_ID_SECRET, min_length=16, repr=False)
    #: optional MaxMind-format .mmdb for region and city (country needs none)
    geoip_mmdb_path: Path | None = None
    #: a client timestamp may be this far ahead of the collector's clock
    max_future_skew_hours: float = Field(default=24.0, gt=0)
    #: and this far behind it (late, offline-queued events)
    max_event_age_days: float = Field(default=30.0, gt=0)

    @field_validator("geoip_mmdb_path")
    @classmethod
    def _mmdb_exists(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_file():
            raise ValueError(f"no such file: {value}")
        return value


class Goal(_Section):
    """A conversion goal of a site, in one of four kinds (as in the seed's goals).

    A session converts at most once per goal:

    - ``destination``: it views a page whose path matches ``page_path`` (``match``:
      ``exact``, ``prefix`` or ``regex``, RE2 syntax as ClickHouse's ``match()``);
    - ``event``: it has an event whose category, action and label equal the ones given
      (an empty one matches anything; at least one is required);
    - ``duration``: it lasts at least ``min_duration_seconds``;
    - ``pages_per_session``: it has at least ``min_pageviews`` page views.
    """

    name: str = Field(min_length=1, max_length=200)
    kind: Literal["destination", "event", "duration", "pages_per_session"]
    page_path: str = ""
    match: Literal["exact", "prefix", "regex"] = "exact"
    event_category: str = ""
    event_action: str = ""
    event_label: str = ""
    min_duration_seconds: int = Field(default=0, ge=0)
    min_pageviews: int = Field(default=0, ge=0)
    #: what one conversion is worth, in the site's currency
    value: float = Field(default=0.0, ge=0.0)

    @model_validator(mode="after")
    def _kind_has_its_condition(self) -> Goal:
        if self.kind == "destination":
            if not self.page_path:
                raise ValueError("a destination goal needs page_path")
            if self.match == "regex":
                try:
                    re.compile(self.page_path)
                except re.error as exc:
                    raise ValueError(f"page_path is not a regular expression: {exc}") from None
        elif self.kind == "event" and not (self.event_category or self.event_action or self.event_label):
            raise ValueError("an event goal needs event_category, event_action or event_label")
        elif self.kind == "duration" and self.min_duration_seconds < 1:
            raise ValueError("a duration goal needs min_duration_seconds of 1 or more")
        elif self.kind == "pages_per_session" and self.min_pageviews < 1:
            raise ValueError("a pages_per_session goal needs min_pageviews of 1 or more")
        return self


class Site(_Section):
    """A tracked website, modelled on the seed's ``websites`` table."""

    website_id: int = Field(ge=1, le=4_294_967_295)
    domain: str = Field(min_length=1)
    name: str = ""
    tracking_id: str = ""
    timezone: str = "UTC"
    retention_days: int = Field(default=426, ge=1)
    bot_filtering: bool = True
    ip_anonymization: bool = True
    sampling_rate: float = Field(default=1.0, gt=0.0, le=1.0)
    #: conversion goals, reported by the marts (``beaconhouse sites sync`` publishes them)
    goals: tuple[Goal, ...] = ()

    @field_validator("goals")
    @classmethod
    def _unique_goal_names(cls, goals: tuple[Goal, ...]) -> tuple[Goal, ...]:
        names = [goal.name for goal in goals]
        dupes = sorted({name for name in names if names.count(name) > 1})
        if dupes:
            raise ValueError(f"two goals share the name {dupes[0]!r}")
        return goals

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown IANA timezone {value!r}") from None
        return value

    @model_validator(mode="after")
    def _default_tracking_id(self) -> Site:
        if not self.tracking_id:
            object.__setattr__(self, "tracking_id", f"BH-{self.website_id}")
        return self


class SupersetSettings(_Section):
    """Superset (``make superset``, ``make superset-up``): where it runs, how it reaches the marts."""

    url: str = "http://127.0.0.1:8088"
    #: its own virtual environment and its home (SQLite metadata, generated secrets)
    venv: Path = Path(".superset-venv")
    home: Path = Path(".beaconhouse/superset")
    #: Superset's admin, who provisions; an empty password reads ``home``/admin_password
    admin_user: str = "admin"
    admin_password: str = ""
    #: the read-only warehouse user Superset's database connection logs in as
    #: (a ``role = "readonly"`` user of the embedded server, or a read-only ClickHouse user)
    database_user: str = "superset"
    database_password: str = ""

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not re.match(r"^https?://[^/\s]+", value):
            raise ValueError("must be an http:// or https:// URL, e.g. http://127.0.0.1:8088")
        return value.rstrip("/")


class Settings(_Section):
    """The whole configuration."""

    warehouse: WarehouseSettings = WarehouseSettings()
    kafka: KafkaSettings = KafkaSettings()
    s3: S3Settings = S3Settings()
    landing: LandingSettings = LandingSettings()
    archive: ArchiveSettings = ArchiveSettings()
    ingest: IngestSettings = IngestSettings()
    druid: DruidSettings = DruidSettings()
    superset: SupersetSettings = SupersetSettings()
    sites: tuple[Site, ...] = ()

    @field_validator("sites")
    @classmethod
    def _unique_sites(cls, sites: tuple[Site, ...]) -> tuple[Site, ...]:
        for attr in ("website_id", "domain", "tracking_id"):
            seen: set[object] = set()
            for site in sites:
                value = getattr(site, attr)
                if value in seen:
                    raise ValueError(f"two sites share {attr} {value!r}")
                seen.add(value)
        return sites

    def druid_export_url(self) -> str:
        """Where the Druid export goes: ``druid.export_url``, else beside the archive."""
        return (self.druid.export_url or f"{self.archive.url.rstrip('/')}/druid").rstrip("/")

    def site(self, website_id: int) -> Site:
        """The site with this id; :class:`ConfigError` if none."""
        for site in self.sites:
            if site.website_id == website_id:
                return site
        raise ConfigError(f"sites: no site with website_id {website_id}")


def load_settings(
    path: str | os.PathLike[str] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Read the TOML file and the ``BEACONHOUSE_*`` overrides into :class:`Settings`.

    ``path`` wins over ``BEACONHOUSE_CONFIG``; with neither, ``./beaconhouse.toml`` is
    read if it exists, otherwise the defaults apply (the embedded setup).
    """
    env = os.environ if environ is None else environ
    data = _read_toml(path, env)
    for key, value in sorted(env.items()):
        if key.startswith(ENV_PREFIX) and key != CONFIG_PATH_ENV:
            _apply_env_override(data, key, value)
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_one_line(exc)) from None


def _read_toml(path: str | os.PathLike[str] | None, env: Mapping[str, str]) -> dict[str, Any]:
    explicit = path if path is not None else env.get(CONFIG_PATH_ENV)
    file = Path(explicit) if explicit else Path(DEFAULT_CONFIG_FILE)
    if not file.exists():
        if explicit:
            raise ConfigError(f"config file {file} does not exist")
        return {}
    try:
        with file.open("rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{file}: invalid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"{file}: cannot read: {exc.strerror}") from None


def _apply_env_override(data: dict[str, Any], env_key: str, value: str) -> None:
    path = [part.lower() for part in env_key[len(ENV_PREFIX) :].split("__")]
    if not all(path):
        raise ConfigError(f"{env_key}: malformed variable name (empty key part)")
    node = data
    for part in path[:-1]:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise ConfigError(f"{env_key}: {part} is not a section")
        node = child
    leaf = path[-1]
    # Lists (sites, users) arrive as JSON; scalars stay strings for pydantic to coerce.
    if value[:1] in "[{":
        try:
            node[leaf] = json.loads(value)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{env_key}: invalid JSON: {exc.msg}") from None
    else:
        node[leaf] = value


def _one_line(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors():
        key = ".".join(str(p) for p in error["loc"]) or "(root)"
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            message = "unknown setting"
        elif error["type"] == "missing":
            message = "required setting is missing"
        parts.append(f"{key}: {message}")
    return "; ".join(parts)
