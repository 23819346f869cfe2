"""``beaconhouse archive`` and ``privacy`` reject bad arguments in one line, before any work."""

from __future__ import annotations

import pytest

from beaconhouse.cli import main

pytestmark = pytest.mark.unit

CONFIG = """
[warehouse]
url = "http://127.0.0.1:9"

[[sites]]
website_id = 1
domain = "one.example"
"""


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["archive", "restore", "--site", "1", "--from", "2026-03-05", "--to", "2026-03-01"],
            "is after --to",
        ),
        (["archive", "restore", "--site", "1"], "the following arguments are required: --from"),
        (["archive", "restore", "--site", "0", "--from", "2026-03-01"], "invalid website id 0"),
        (["archive", "restore", "--site", "1", "--from", "2026-02-30"], "invalid date '2026-02-30'"),
        (["privacy", "delete", "--site", "1"], "one of the arguments --visitor --user is required"),
        (["privacy", "delete", "--site", "1", "--visitor", "a", "--user", "b"], "not allowed with"),
        (["archive", "run", "--today", "2026-01-01"], "unrecognized arguments"),
    ],
)
def test_bad_arguments_give_one_line(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert message in err


@pytest.mark.parametrize(
    "argv",
    [
        ["archive", "restore", "--site", "7", "--from", "2026-03-01"],
        ["privacy", "delete", "--site", "7", "--user", "u-1"],
    ],
)
def test_an_unknown_site_is_named_before_the_warehouse_is_reached(argv, tmp_path, capsys):
    config = tmp_path / "beaconhouse.toml"
    config.write_text(CONFIG)
    assert main(["--config", str(config), *argv]) == 1
    assert capsys.readouterr().err.strip() == "error: unknown site 7: it is not in [[sites]]"


def test_an_empty_identifier_is_refused(tmp_path, capsys):
    config = tmp_path / "beaconhouse.toml"
    config.write_text(CONFIG)
    assert main(["--config", str(config), "privacy", "delete", "--site", "1", "--visitor", ""]) == 1
    assert capsys.readouterr().err.strip() == "error: --visitor is empty"
