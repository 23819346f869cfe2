"""``beaconhouse generate --to s3://…``: the same objects as the folder output, via s3fs.

S3 is moto's server, in process on a free loopback port (s3fs speaks aiobotocore,
which moto's in-process mock does not patch), hence the ``server`` mark.
"""

from __future__ import annotations

import datetime as dt
import logging

import pytest

from beaconhouse.config import S3Settings, Settings
from beaconhouse.generate.cli import GenerateOptions, run

pytestmark = pytest.mark.server

OPTIONS = {"sites": 2, "start": dt.date(2026, 10, 20), "days": 1, "visitors": 80, "seed": 5}


@pytest.fixture
def s3_url():
    moto_server = pytest.importorskip("moto.server")
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def test_s3_objects_equal_the_folder_files(s3_url, tmp_path):
    import boto3

    client = boto3.client(
        "s3", endpoint_url=s3_url, aws_access_key_id="k", aws_secret_access_key="s", region_name="us-east-1"
    )
    client.create_bucket(Bucket="landing")
    settings = Settings(s3=S3Settings(endpoint_url=s3_url, access_key_id="k", secret_access_key="s"))
    report = run(settings, GenerateOptions(to="s3://landing/web", truth=tmp_path / "truth", **OPTIONS))
    run(Settings(), GenerateOptions(to=str(tmp_path / "folder"), **OPTIONS))

    listed = client.list_objects_v2(Bucket="landing", Prefix="web/")["Contents"]
    objects = {
        item["Key"].removeprefix("web/"): client.get_object(Bucket="landing", Key=item["Key"])["Body"].read()
        for item in listed
    }
    files = {
        p.relative_to(tmp_path / "folder").as_posix(): p.read_bytes()
        for p in (tmp_path / "folder").rglob("*.jsonl.gz")
    }
    assert report.files == len(objects) == len(files) > 10
    assert objects == files
    assert (tmp_path / "truth" / "truth.json").read_bytes() == (
        tmp_path / "folder" / "_truth" / "truth.json"
    ).read_bytes()
