import pytest

from stackctl.errors import ConfigError
from stackctl.project import Project
from stackctl.settings import DEV_SECRETS, Settings, load_settings, secret_problems

SETTING_VARS = [name.upper() for name in Settings.model_fields]


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    for var in SETTING_VARS:
        monkeypatch.delenv(var, raising=False)


def project(tmp_path, env="development", text=None):
    (tmp_path / "compose").mkdir(exist_ok=True)
    (tmp_path / "compose" / "compose.yaml").write_text("services: {}\n")
    if text is not None:
        (tmp_path / (".env.production" if env == "production" else ".env")).write_text(text)
    return Project(tmp_path, env)


def test_development_needs_no_env_file(tmp_path):
    settings = load_settings(project(tmp_path))
    assert settings.http_port == 80
    assert settings.secret("postgres_password") == DEV_SECRETS["postgres_password"]
    assert secret_problems(settings) == []


def test_env_file_then_environment_override(tmp_path, monkeypatch):
    p = project(tmp_path, text="HTTP_PORT=8080\nAPI_PORT=3100\n")
    monkeypatch.setenv("API_PORT", "3200")
    settings = load_settings(p)
    assert (settings.http_port, settings.api_port) == (8080, 3200)


def test_images_env_is_below_dot_env(tmp_path):
    p = project(tmp_path, text="REDIS_IMAGE=mine/redis:7\n")
    (tmp_path / ".stackctl").mkdir()
    (tmp_path / ".stackctl" / "images.env").write_text("REDIS_IMAGE=standin/redis\nNGINX_IMAGE=standin/nginx\n")
    settings = load_settings(p)
    assert settings.redis_image == "mine/redis:7"
    assert settings.nginx_image == "standin/nginx"


def test_non_numeric_port_is_one_line_error_naming_variable_and_file(tmp_path):
    with pytest.raises(ConfigError) as err:
        load_settings(project(tmp_path, text="HTTP_PORT=eighty\n"))
    assert "HTTP_PORT='eighty' in .env" in err.value.message
    assert "\n" not in err.value.message
    assert err.value.exit_code == 2


def test_port_out_of_range(tmp_path):
    with pytest.raises(ConfigError, match="POSTGRES_PORT='70000'"):
        load_settings(project(tmp_path, text="POSTGRES_PORT=70000\n"))


def test_bad_password_value_is_not_echoed(tmp_path):
    with pytest.raises(ConfigError) as err:
        load_settings(project(tmp_path, text="STACK_NAME=Bad Name\nHEALTH_TIMEOUT=-1\n"))
    assert "STACK_NAME" in err.value.message and "HEALTH_TIMEOUT" in err.value.message


def test_production_refuses_missing_placeholder_and_short_secrets(tmp_path):
    p = project(tmp_path, "production", "POSTGRES_PASSWORD=change-me\nREDIS_PASSWORD=short\n")
    problems = dict(secret_problems(load_settings(p)))
    assert problems == {"POSTGRES_PASSWORD": "is a placeholder or development default",
                        "REDIS_PASSWORD": "is shorter than 16 characters"}
    (tmp_path / "empty").mkdir()
    p = project(tmp_path / "empty", "production", "")
    assert {v for v, _ in secret_problems(load_settings(p))} == {"POSTGRES_PASSWORD", "REDIS_PASSWORD"}


def test_production_accepts_real_secrets_and_never_falls_back_to_dev(tmp_path):
    p = project(tmp_path, "production", "POSTGRES_PASSWORD=3f9c1e7a5b2d8c4e6f0a\nREDIS_PASSWORD=\n")
    settings = load_settings(p)
    assert [v for v, _ in secret_problems(settings)] == ["REDIS_PASSWORD"]
    with pytest.raises(ConfigError, match="REDIS_PASSWORD is not set"):
        settings.compose_env()


def test_compose_env_has_every_setting_as_string(tmp_path):
    env = load_settings(project(tmp_path)).compose_env()
    assert set(env) == set(SETTING_VARS)
    assert env["HTTP_PORT"] == "80" and all(isinstance(v, str) for v in env.values())
