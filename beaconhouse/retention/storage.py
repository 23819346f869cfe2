"""Where the archive lives: a local folder or an S3 prefix, as ClickHouse table functions.

Rows move in and out of the archive only through ClickHouse's own ``file()`` and
``s3()`` table functions, so the server does the Parquet encoding and decoding.
Removing an object is the one thing SQL cannot do; that goes through the filesystem
or fsspec (privacy rewrites need the old object gone).

``file()`` writes on the ClickHouse server's host, relative to its working folder:
a local archive therefore has to be an absolute path on a filesystem the server and
this process share (the embedded server), and production uses ``s3://``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from beaconhouse.config import S3Settings, Settings
from beaconhouse.ingest.sources import filesystem

#: settings every archive write uses: snappy Parquet, replacing a partial object a
#: crashed run may have left (Parquet cannot be appended to)
WRITE_SETTINGS: dict[str, Any] = {
    "output_format_parquet_compression_method": "snappy",
    "engine_file_truncate_on_insert": 1,
    "s3_truncate_on_insert": 1,
}
#: reads take the columns from the given structure, not from the hive-style path
READ_SETTINGS: dict[str, Any] = {"use_hive_partitioning": 0}


@dataclass(frozen=True)
class ArchiveStore:
    """The archive root: ``s3://bucket/prefix`` or an absolute folder."""

    url: str
    s3: S3Settings

    @classmethod
    def from_settings(cls, settings: Settings) -> ArchiveStore:
        url = settings.archive.url
        if not url.startswith("s3://"):
            # file() resolves a relative path against the server's working folder,
            # which need not be ours: pin it here.
            url = str(Path(url).expanduser().resolve())
        return cls(url=url.rstrip("/"), s3=settings.s3)

    @property
    def is_s3(self) -> bool:
        return self.url.startswith("s3://")

    def object_url(self, website_id: int, day: dt.date, generation: int) -> str:
        """The Parquet object of one site's UTC day, in one generation."""
        return (
            f"{self.url}/raw_events/website_id={website_id}/date={day.isoformat()}/part-{generation}.parquet"
        )

    def table_function(
        self, object_url: str, structure: str | None = None, name: str = "archive"
    ) -> tuple[str, dict[str, Any]]:
        """``file(...)`` or ``s3(...)`` SQL for ``object_url`` and its query parameters.

        The parameters are named ``<name>_…``: two table functions in one statement
        need two names.
        """
        params: dict[str, Any] = {f"{name}_path": self._path_for_server(object_url)}
        args = [f"{{{name}_path:String}}"]
        if self.is_s3 and self.s3.access_key_id:
            params[f"{name}_key"] = self.s3.access_key_id
            params[f"{name}_secret"] = self.s3.secret_access_key or ""
            args += [f"{{{name}_key:String}}", f"{{{name}_secret:String}}"]
        args.append("'Parquet'")
        if structure is not None:
            params[f"{name}_structure"] = structure
            args.append(f"{{{name}_structure:String}}")
        return f"{'s3' if self.is_s3 else 'file'}({', '.join(args)})", params

    def _path_for_server(self, object_url: str) -> str:
        if not self.is_s3:
            return object_url
        parts = urlsplit(object_url)
        if self.s3.endpoint_url:
            return f"{self.s3.endpoint_url.rstrip('/')}/{parts.netloc}{parts.path}"
        return f"https://{parts.netloc}.s3.{self.s3.region}.amazonaws.com{parts.path}"

    def delete(self, object_url: str) -> None:
        """Remove an object (a superseded generation); missing is fine (reruns)."""
        fs = filesystem(object_url, self.s3)
        if fs.exists(object_url):
            fs.rm(object_url)

    def exists(self, object_url: str) -> bool:
        """Whether the object is there."""
        fs = filesystem(object_url, self.s3)
        fs.invalidate_cache()
        return bool(fs.exists(object_url))
