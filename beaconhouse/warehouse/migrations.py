"""Versioned DDL for the warehouse: discover, render and apply ``sql/migrations``.

A migration is a Jinja2 template ``V<version>__<name>.sql`` holding one or more
idempotent statements. It is rendered from a :class:`SchemaContext` (database names,
cluster, TTLs), split into statements and sent one by one, since ClickHouse's HTTP
interface runs one statement per request. Applied versions are recorded in
``<meta_db>.schema_migrations`` with a checksum of the rendered SQL.

See ``sql/README.md`` for how to write a migration and ``docs/schema.md`` for the
tables themselves.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import jinja2

logger = logging.getLogger(__name__)

IDENTIFIER_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
MIGRATION_FILE_RE = re.compile(r"^V(?P<version>[0-9]{4,})__(?P<name>[a-z0-9_]+)\.sql$")

# The SQL lives beside the package in the repository, not inside it: found relative to
# this file, which holds for a checkout and an editable install but not for a wheel.
SQL_DIR = Path(__file__).resolve().parents[2] / "sql"
DEFAULT_MIGRATIONS_DIR = SQL_DIR / "migrations"
BOOTSTRAP_TEMPLATE = "bootstrap.sql.j2"


def validate_identifier(value: str, what: str = "identifier") -> str:
    """Return ``value`` if it is a plain SQL identifier, else raise ``ValueError``.

    Database and cluster names are pasted into DDL (identifiers cannot be bound as
    query parameters), so only ``[A-Za-z_][A-Za-z0-9_]*`` is allowed: nothing that
    needs quoting, nothing that could end a string literal.
    """
    if not IDENTIFIER_RE.fullmatch(value):
        raise ValueError(f"invalid {what} {value!r}: must match {IDENTIFIER_RE.pattern}")
    return value


@dataclass(frozen=True)
class SchemaContext:
    """Everything a migration template may depend on.

    ``cluster`` switches to cluster mode (``ON CLUSTER``, Replicated engines and a
    Distributed table per data table). ``ttl_days`` is the retention safety net on
    raw.events; ``quarantine_ttl_days`` is the (shorter) one on the quarantine, whose
    raw payloads hold personal data.
    """

    raw_db: str = "raw"
    meta_db: str = "beaconhouse"
    marts_db: str = "marts"
    cluster: str | None = None
    ttl_days: int = 800
    quarantine_ttl_days: int = 90

    def __post_init__(self) -> None:
        validate_identifier(self.raw_db, "raw_db")
        validate_identifier(self.meta_db, "meta_db")
        validate_identifier(self.marts_db, "marts_db")
        if self.cluster is not None:
            validate_identifier(self.cluster, "cluster")
        for name in ("ttl_days", "quarantine_ttl_days"):
            value = getattr(self, name)
            # bool is an int subclass; True days is a config mistake, not a TTL.
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")

    @property
    def on_cluster(self) -> str:
        """``ON CLUSTER '<cluster>'`` in cluster mode, else the empty string."""
        return f"ON CLUSTER '{self.cluster}'" if self.cluster else ""

    def template_vars(self) -> dict[str, object]:
        """The variables a template sees."""
        return {
            "raw_db": self.raw_db,
            "meta_db": self.meta_db,
            "marts_db": self.marts_db,
            "cluster": self.cluster,
            "on_cluster": self.on_cluster,
            "ttl_days": self.ttl_days,
            "quarantine_ttl_days": self.quarantine_ttl_days,
        }


@dataclass(frozen=True)
class Migration:
    """One migration file."""

    version: int
    name: str
    path: Path

    @property
    def label(self) -> str:
        """``V0001__raw_events``: how logs and reports name the migration."""
        return f"V{self.version:04d}__{self.name}"


@dataclass(frozen=True)
class ChangedMigration:
    """An applied migration whose file now renders differently from what was applied."""

    migration: Migration
    recorded_checksum: str
    current_checksum: str


@dataclass
class MigrationReport:
    """What :func:`apply_migrations` did."""

    applied: list[Migration] = field(default_factory=list)
    skipped: list[Migration] = field(default_factory=list)
    changed: list[ChangedMigration] = field(default_factory=list)
    # Versions recorded in the warehouse with no file here: an older checkout is
    # running against a warehouse a newer one migrated.
    unknown_versions: list[int] = field(default_factory=list)

    @property
    def warnings(self) -> list[str]:
        """Human-readable warnings: changed-after-apply migrations and unknown versions."""
        messages = [
            f"{c.migration.label} changed after apply: recorded checksum "
            f"{c.recorded_checksum[:12]}, file now renders {c.current_checksum[:12]}; "
            "not re-applied, write a new migration for the change"
            for c in self.changed
        ]
        messages.extend(
            f"V{version:04d} is recorded as applied but has no migration file"
            for version in self.unknown_versions
        )
        return messages


class MigrationError(RuntimeError):
    """A migration statement failed. Earlier migrations stay applied and recorded."""

    def __init__(
        self,
        message: str,
        migration: Migration,
        statement_number: int,
        report: MigrationReport,
    ) -> None:
        super().__init__(message)
        self.migration = migration
        self.statement_number = statement_number
        self.report = report


class _QueryResult(Protocol):
    @property
    def result_rows(self) -> Sequence[Sequence[Any]]: ...


class WarehouseClient(Protocol):
    """The part of ``clickhouse_connect``'s client the runner uses."""

    def command(self, cmd: str, parameters: dict[str, Any] | None = None, /) -> Any: ...

    def query(self, query: str, parameters: dict[str, Any] | None = None, /) -> _QueryResult: ...


def discover_migrations(directory: Path | None = None) -> list[Migration]:
    """List the migrations in ``directory`` (default ``sql/migrations``), by version.

    Every ``*.sql`` file there must be named ``V<4+ digits>__<snake_case>.sql`` and
    versions must be unique: a misnamed file raises ``ValueError`` rather than being
    silently skipped.
    """
    directory = DEFAULT_MIGRATIONS_DIR if directory is None else directory
    if not directory.is_dir():
        raise ValueError(f"migrations directory {directory} does not exist")
    by_version: dict[int, Migration] = {}
    for path in sorted(directory.glob("*.sql")):
        match = MIGRATION_FILE_RE.fullmatch(path.name)
        if match is None:
            raise ValueError(
                f"{path.name}: migration files must be named V<version>__<name>.sql, "
                "e.g. V0004__add_column.sql"
            )
        version = int(match["version"])
        if version in by_version:
            raise ValueError(
                f"{path.name}: version {version} is also used by {by_version[version].path.name}"
            )
        by_version[version] = Migration(version=version, name=match["name"], path=path)
    return [by_version[version] for version in sorted(by_version)]


def _environment(template_dir: Path) -> jinja2.Environment:
    # The template's own directory first, then sql/ for the shared macros.
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader([template_dir, SQL_DIR]),
        undefined=jinja2.StrictUndefined,
        autoescape=False,  # noqa: S701 -- renders SQL, not HTML
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def _render_file(path: Path, ctx: SchemaContext) -> list[str]:
    template = _environment(path.parent).get_template(path.name)
    return split_statements(template.render(ctx.template_vars()))


def render_migration(migration: Migration, ctx: SchemaContext) -> list[str]:
    """Render a migration's template for ``ctx`` and split it into statements."""
    return _render_file(migration.path, ctx)


def render_bootstrap(ctx: SchemaContext) -> list[str]:
    """Render the statements that create the meta database and ``schema_migrations``."""
    return _render_file(SQL_DIR / BOOTSTRAP_TEMPLATE, ctx)


def migration_checksum(statements: Sequence[str]) -> str:
    """sha256 of rendered statements; blind to SQL comments, which the splitter drops."""
    return hashlib.sha256("\n;\n".join(statements).encode("utf-8")).hexdigest()


def _quoted_end(sql: str, start: int) -> int:
    """Index just past the quoted literal or identifier opening at ``start``."""
    quote = sql[start]
    i = start + 1
    while i < len(sql):
        char = sql[i]
        if char == "\\":
            i += 2
        elif char == quote and sql.startswith(quote, i + 1):
            i += 2  # a doubled quote is an escaped quote
        elif char == quote:
            return i + 1
        else:
            i += 1
    raise ValueError(f"unterminated {quote} quote starting at offset {start}")


def split_statements(sql: str) -> list[str]:
    """Split SQL text into statements on every ``;`` outside quotes and comments.

    Quotes are ``'...'``, ``"..."`` and backticks, with backslash or doubled-quote
    escapes. ``--`` and ``/* */`` comments are dropped, so a ``;`` inside them does
    not split and editing them does not change a migration's checksum. Statements are
    stripped; empty ones (e.g. a trailing ``;``) are dropped.
    """
    statements: list[str] = []
    current: list[str] = []

    def flush() -> None:
        statement = "".join(current).strip()
        if statement:
            statements.append(statement)
        current.clear()

    i = 0
    while i < len(sql):
        char = sql[i]
        if char in "'\"`":
            end = _quoted_end(sql, i)
            current.append(sql[i:end])
            i = end
        elif sql.startswith("--", i):
            newline = sql.find("\n", i)
            end = len(sql) if newline == -1 else newline
            _drop_trailing_blanks(current)
            if newline != -1 and (not current or current[-1].endswith("\n")):
                end += 1  # the comment had its line to itself: drop the line too
            i = end
        elif sql.startswith("/*", i):
            end = sql.find("*/", i + 2)
            if end == -1:
                raise ValueError(f"unterminated /* comment starting at offset {i}")
            current.append(" ")
            i = end + 2
        elif char == ";":
            flush()
            i += 1
        else:
            current.append(char)
            i += 1
    flush()
    return statements


def _drop_trailing_blanks(parts: list[str]) -> None:
    """Remove spaces and tabs at the end of ``parts``, up to (not including) a newline."""
    while parts:
        stripped = parts[-1].rstrip(" \t")
        if stripped:
            parts[-1] = stripped
            return
        parts.pop()


def _recorded_checksums(client: WarehouseClient, ctx: SchemaContext) -> dict[int, str]:
    rows = client.query(
        f"SELECT version, argMax(checksum, applied_at) FROM {ctx.meta_db}.schema_migrations GROUP BY version"
    ).result_rows
    return {int(version): str(checksum) for version, checksum in rows}


def apply_migrations(
    client: WarehouseClient,
    ctx: SchemaContext,
    directory: Path | None = None,
) -> MigrationReport:
    """Apply pending migrations in version order and record them.

    ``client`` is a ``clickhouse_connect`` client (anything with its ``command`` and
    ``query``). Creates ``<meta_db>.schema_migrations`` first. A version already
    recorded is skipped; if its file now renders to a different checksum it is
    reported in ``changed`` (and logged as a warning) but not re-applied. Running it
    twice applies nothing the second time.

    Raises :class:`MigrationError` if a statement fails; migrations applied before it
    stay recorded, and as every statement is idempotent, re-running after a fix is safe.
    """
    # Render everything before touching the warehouse: a template error should fail
    # the run with nothing half-applied.
    pending = [(migration, render_migration(migration, ctx)) for migration in discover_migrations(directory)]
    for statement in render_bootstrap(ctx):
        client.command(statement)
    recorded = _recorded_checksums(client, ctx)

    report = MigrationReport()
    report.unknown_versions = sorted(set(recorded) - {m.version for m, _ in pending})
    for migration, statements in pending:
        checksum = migration_checksum(statements)
        if migration.version in recorded:
            if recorded[migration.version] == checksum:
                report.skipped.append(migration)
            else:
                report.changed.append(ChangedMigration(migration, recorded[migration.version], checksum))
            continue
        for number, statement in enumerate(statements, start=1):
            try:
                client.command(statement)
            except Exception as exc:
                raise MigrationError(
                    f"{migration.label}: statement {number} of {len(statements)} failed: {exc}",
                    migration,
                    number,
                    report,
                ) from exc
        # INSERT ... SELECT, not VALUES: VALUES is parsed as data by the input format,
        # which does not see query parameters once the server streams it apart.
        client.command(
            f"INSERT INTO {ctx.meta_db}.schema_migrations (version, name, checksum, statements) "
            "SELECT {version:UInt32}, {name:String}, {checksum:String}, {statements:UInt32}",
            {
                "version": migration.version,
                "name": migration.name,
                "checksum": checksum,
                "statements": len(statements),
            },
        )
        report.applied.append(migration)
        logger.info("applied %s (%d statements)", migration.label, len(statements))

    for warning in report.warnings:
        logger.warning(warning)
    return report
