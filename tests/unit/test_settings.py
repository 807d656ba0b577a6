"""stackctl's own settings live in STACKCTL_*: the app's variables can never break them."""

import pytest

from stackctl.errors import ConfigError
from stackctl.project import Project
from stackctl.env_values import interpolation_values, weak_secret
from stackctl.settings import Settings, load_settings

SETTING_VARS = ["STACKCTL_" + name.upper() for name in Settings.model_fields]


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    for var in SETTING_VARS + ["LOG_LEVEL", "HTTP_PORT"]:
        monkeypatch.delenv(var, raising=False)


def project(tmp_path, env="development", text=None):
    (tmp_path / "compose.yaml").write_text("services: {}\n")
    if text is not None:
        (tmp_path / (".env" if env == "development" else f".env.{env}")).write_text(text)
    return Project(tmp_path, env, (tmp_path / "compose.yaml",))


def test_development_needs_no_env_file(tmp_path):
    settings = load_settings(project(tmp_path))
    assert settings.health_timeout == 120 and settings.backup_dir == "backups"


def test_the_apps_own_variables_break_nothing(tmp_path):
    """LOG_LEVEL=warn is a normal NestJS value; HEALTH_TIMEOUT is not stackctl's name."""
    p = project(tmp_path, text="LOG_LEVEL=warn\nHEALTH_TIMEOUT=-1\nHTTP_PORT=eighty\nSTACKCTL_BACKUP_DIR=/srv/b\n")
    settings = load_settings(p)
    assert settings.backup_dir == "/srv/b" and settings.health_timeout == 120
    assert interpolation_values(p)["LOG_LEVEL"] == "warn"  # still handed to compose as it is


def test_env_file_then_environment_override(tmp_path, monkeypatch):
    p = project(tmp_path, text="STACKCTL_HEALTH_TIMEOUT=30\nSTACKCTL_MIN_DISK_MB=10\n")
    monkeypatch.setenv("STACKCTL_MIN_DISK_MB", "20")
    settings = load_settings(p)
    assert (settings.health_timeout, settings.min_disk_mb) == (30, 20)


def test_images_env_is_below_dot_env_for_compose(tmp_path):
    p = project(tmp_path, text="REDIS_IMAGE=mine/redis:7\n")
    (tmp_path / ".stackctl").mkdir()
    (tmp_path / ".stackctl" / "images.env").write_text("REDIS_IMAGE=standin/redis\nNGINX_IMAGE=standin/nginx\n")
    values = interpolation_values(p)
    assert (values["REDIS_IMAGE"], values["NGINX_IMAGE"]) == ("mine/redis:7", "standin/nginx")
    assert p.env_files() == [tmp_path / ".stackctl" / "images.env", tmp_path / ".env"]


def test_bad_value_is_one_line_error_naming_variable_and_file(tmp_path):
    with pytest.raises(ConfigError) as err:
        load_settings(project(tmp_path, text="STACKCTL_HEALTH_TIMEOUT=soon\nSTACKCTL_BACKUP_SCHEDULE_AT=25:00\n"))
    assert "STACKCTL_HEALTH_TIMEOUT='soon' in .env" in err.value.message
    assert "STACKCTL_BACKUP_SCHEDULE_AT" in err.value.message
    assert "\n" not in err.value.message
    assert err.value.exit_code == 2


def test_named_environments_read_their_own_file(tmp_path):
    p = project(tmp_path, "staging", "STACKCTL_BACKUP_KEEP_COUNT=3\n")
    assert p.env_file.name == ".env.staging"
    assert load_settings(p).backup_keep_count == 3


@pytest.mark.parametrize("value, why", [
    (None, "is not set"), ("", "is not set"), ("change-me", "is a placeholder or development default"),
    ("dev-only-postgres-password", "is a placeholder or development default"),
    ("short", "is shorter than 16 characters"), ("3f9c1e7a5b2d8c4e6f0a", None),
    ("aaaaaaaaaaaaaaaa", "is too simple (fewer than 8 different characters)"),
    ("abababab12121212", "is too simple (fewer than 8 different characters)"),
    ("abcdefghijklmnop", "is too simple (a run of consecutive characters)"),
    ("1234567890123456", "is too simple (a run of consecutive characters)"),
])
def test_weak_production_secrets(value, why):
    assert weak_secret(value) == why


def test_secret_values_are_masked_in_what_stackctl_prints(tmp_path):
    from stackctl import masking

    p = project(tmp_path, "production", "REDIS_PASSWORD=p a\"s's w0rd\nDB_TOKEN=tok-12345\nLOG_LEVEL=warn\n")
    from stackctl.env_values import secret_values

    masking.register(secret_values(interpolation_values(p)))
    line = "FATAL CONFIG FILE ERROR: requirepass p a\"s's w0rd; token tok-12345; level warn"
    assert masking.mask(line) == "FATAL CONFIG FILE ERROR: requirepass ****; token ****; level warn"
