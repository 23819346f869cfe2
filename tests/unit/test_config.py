import hashlib

import pytest

from beaconhouse.config import ConfigError, load_settings

pytestmark = pytest.mark.unit


def write(tmp_path, text):
    path = tmp_path / "beaconhouse.toml"
    path.write_text(text)
    return path


def test_defaults_are_the_embedded_setup(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    settings = load_settings(environ={})
    assert settings.warehouse.url == "http://127.0.0.1:8123"
    assert settings.warehouse.raw_database == "raw"
    assert settings.warehouse.server.users[0].name == "default"
    assert settings.sites == ()


def test_file_then_environment_overrides(tmp_path):
    path = write(
        tmp_path,
        """
[warehouse]
url = "http://wh:8123"
password = "from-file"

[[sites]]
website_id = 1
domain = "a.example"
timezone = "Europe/Berlin"
""",
    )
    env = {
        "BEACONHOUSE_CONFIG": str(path),
        "BEACONHOUSE_WAREHOUSE__PASSWORD": "from-env",
        "BEACONHOUSE_KAFKA__BOOTSTRAP_SERVERS": "k1:9092,k2:9092",
        "BEACONHOUSE_WAREHOUSE__SERVER__PORT": "9000",
    }
    settings = load_settings(environ=env)
    assert settings.warehouse.url == "http://wh:8123"
    assert settings.warehouse.password == "from-env"
    assert settings.kafka.bootstrap_servers == "k1:9092,k2:9092"
    assert settings.warehouse.server.port == 9000
    site = settings.site(1)
    assert site.retention_days == 426
    assert site.tracking_id == "BH-1"
    assert site.bot_filtering
    assert site.ip_anonymization
    assert site.sampling_rate == 1.0


def test_explicit_path_beats_environment_variable(tmp_path):
    path = write(tmp_path, '[warehouse]\nuser = "explicit"\n')
    other = tmp_path / "other.toml"
    other.write_text('[warehouse]\nuser = "from-env-path"\n')
    assert load_settings(path, environ={"BEACONHOUSE_CONFIG": str(other)}).warehouse.user == "explicit"


def test_sites_from_environment_json():
    env = {"BEACONHOUSE_SITES": '[{"website_id": 7, "domain": "x.example", "sampling_rate": 0.5}]'}
    assert load_settings("/dev/null", environ=env).site(7).sampling_rate == 0.5


@pytest.mark.parametrize(
    ("toml", "env", "message"),
    [
        ("[warehouse]\nport = 1\n", {}, "warehouse.port: unknown setting"),
        ('[warehouse.server]\nport = "abc"\n', {}, "warehouse.server.port:"),
        ('[[sites]]\ndomain = "a"\n', {}, "sites.0.website_id: required setting is missing"),
        (
            '[[sites]]\nwebsite_id = 1\ndomain = "a"\ntimezone = "Mars/Base"\n',
            {},
            "unknown IANA timezone 'Mars/Base'",
        ),
        ('[[sites]]\nwebsite_id = 1\ndomain = "a"\nsampling_rate = 0\n', {}, "sites.0.sampling_rate"),
        ('[warehouse]\nurl = "ftp://x"\n', {}, "warehouse.url: must be an http"),
        ('[warehouse]\nraw_database = "raw; drop"\n', {}, "warehouse.raw_database"),
        ("", {"BEACONHOUSE_WAREHOUSE__SERVER__PORT": "99999"}, "warehouse.server.port"),
        ("[warehouse\n", {}, "invalid TOML"),
        ('[[warehouse.server.users]]\nname = "a"\npassword_sha256 = "nothex"\n', {}, "password_sha256"),
    ],
)
def test_bad_settings_give_one_line_naming_the_key(tmp_path, toml, env, message):
    with pytest.raises(ConfigError) as info:
        load_settings(write(tmp_path, toml), environ=env)
    text = str(info.value)
    assert message in text
    assert "\n" not in text


def test_missing_explicit_file_is_an_error(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "nope.toml", environ={})


def test_duplicate_sites_rejected(tmp_path):
    toml = '[[sites]]\nwebsite_id = 1\ndomain = "a"\n[[sites]]\nwebsite_id = 1\ndomain = "b"\n'
    with pytest.raises(ConfigError, match="two sites share website_id 1"):
        load_settings(write(tmp_path, toml), environ={})


def test_password_hash_check(tmp_path):
    digest = hashlib.sha256(b"s3cret").hexdigest().upper()
    toml = f'[[warehouse.server.users]]\nname = "u"\npassword_sha256 = "{digest}"\nrole = "readonly"\n'
    user = load_settings(write(tmp_path, toml), environ={}).warehouse.server.users[0]
    assert user.password_matches("s3cret")
    assert not user.password_matches("S3cret")


def test_an_unknown_load_file_codec_is_refused(tmp_path):
    config = tmp_path / "beaconhouse.toml"
    config.write_text('[warehouse]\nload_file_compression = "rar"\n')
    with pytest.raises(ConfigError, match="load_file_compression"):
        load_settings(config)
