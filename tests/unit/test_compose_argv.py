"""The compose command line stackctl builds: files found as compose finds them, the env files,
project name and profiles; secrets never in argv, and nothing of stackctl added to the env."""

import pytest

from stackctl.project import open_project
from stackctl.settings import load_settings


@pytest.fixture
def project(tmp_path, monkeypatch):
    for var in ("COMPOSE_FILE", "COMPOSE_PROJECT_NAME", "COMPOSE_PROFILES", "STACKCTL_PROJECT_DIR", "DOCKER_HOST"):
        monkeypatch.delenv(var, raising=False)
    (tmp_path / "docker-compose.yml").write_text("services: {}\n")
    (tmp_path / "docker-compose.prod.yml").write_text("services: {}\n")
    (tmp_path / "override.yaml").write_text("services: {}\n")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def argv(project_dir, env, text, **kwargs):
    from stackctl.compose import Compose

    (project_dir / (".env" if env == "development" else f".env.{env}")).write_text(text)
    p = open_project(None, env, **kwargs)
    compose = Compose(p, load_settings(p))
    command = compose.command()
    return list(command.argv), command.env


def test_development_argv(project):
    cmd, env = argv(project, "development", "LOG_LEVEL=warn\n", name="shop", profiles=("tools",))
    assert cmd[cmd.index("compose"):] == [
        "compose", "--file", str(project / "docker-compose.yml"), "--profile", "tools",
        "--env-file", str(project / ".env"), "--project-name", "shop"]
    assert env == {}


def test_files_flag_and_compose_file_variable(project, monkeypatch):
    cmd, _ = argv(project, "development", "", files=("docker-compose.yml", "override.yaml"))
    assert [cmd[i + 1] for i, a in enumerate(cmd) if a == "--file"] == [
        str(project / "docker-compose.yml"), str(project / "override.yaml")]
    monkeypatch.setenv("COMPOSE_FILE", "docker-compose.yml:override.yaml")
    cmd, _ = argv(project, "development", "")
    assert [cmd[i + 1] for i, a in enumerate(cmd) if a == "--file"] == [
        str(project / "docker-compose.yml"), str(project / "override.yaml")]


def test_production_adds_overlay_by_convention_and_keeps_secrets_out_of_argv(project):
    secret = "s3cr3t-value-for-production-only"
    cmd, env = argv(project, "production", f"POSTGRES_PASSWORD={secret}\nREDIS_PASSWORD=another-long-secret-value\n")
    assert [cmd[i + 1] for i, a in enumerate(cmd) if a == "--file"] == [
        str(project / "docker-compose.yml"), str(project / "docker-compose.prod.yml")]
    assert str(project / ".env.production") in cmd
    assert not any(secret in part for part in cmd)
    assert secret not in str(env)  # compose reads the env file itself


def test_nested_compose_folder_keeps_the_project_root(tmp_path, monkeypatch):
    monkeypatch.delenv("COMPOSE_FILE", raising=False)
    (tmp_path / "compose").mkdir()
    (tmp_path / "compose" / "compose.yaml").write_text("services: {}\n")
    (tmp_path / "compose" / "compose.prod.yaml").write_text("services: {}\n")
    (tmp_path / "sub").mkdir()
    monkeypatch.chdir(tmp_path / "sub")
    p = open_project(None, "production")
    assert p.root == tmp_path and p.compose_files() == [tmp_path / "compose" / "compose.yaml",
                                                         tmp_path / "compose" / "compose.prod.yaml"]


def test_commands_are_data_with_their_own_environment(project, monkeypatch):
    """Each compose call is argv plus the variables it adds; the engine's address travels in
    that env (never in argv, never in stackctl's own os.environ)."""
    import os

    from stackctl.compose import Compose

    monkeypatch.delenv("DOCKER_HOST", raising=False)
    (project / ".env").write_text("")
    p = open_project(None, "development", name="shop", host="ssh://deploy@app1")
    compose = Compose(p, load_settings(p))
    head = " ".join(compose.base)
    assert str(compose.build_command(["api", "web"])) == \
        f"BUILDKIT_PROGRESS=plain DOCKER_HOST=ssh://deploy@app1 {head} build api web"
    assert str(compose.scale_command("api", 2)) == \
        f"DOCKER_HOST=ssh://deploy@app1 {head} up --detach --no-deps --no-recreate --no-build --scale api=2 api"
    assert str(compose.logs_command(["api"], follow=True, tail="5", since=None)) == \
        f"DOCKER_HOST=ssh://deploy@app1 {head} logs --no-color --tail 5 --follow api"
    assert str(compose.logs_command(["api"], follow=False, tail=None, since="2h", until="1h")).endswith(
        " logs --no-color --since 2h --until 1h api")
    assert str(compose.down_command(volumes=True)).endswith(" down --remove-orphans --volumes")
    assert "DOCKER_HOST" not in os.environ


def test_a_bad_engine_address_is_refused_before_anything_runs(project):
    from stackctl.errors import ConfigError

    with pytest.raises(ConfigError, match="engine address"):
        open_project(None, "development", host="app1:2375")


def test_exec_puts_a_secret_in_the_env_of_the_docker_cli_never_in_argv(project):
    from stackctl.compose import Compose

    (project / ".env").write_text("")
    p = open_project(None, "development", name="shop")
    compose = Compose(p, load_settings(p))
    command = compose.exec_command("cache", ["redis-cli", "--no-auth-warning", "PING"], tty=False,
                                   secret_env={"REDISCLI_AUTH": "s3cret-redis-password"})
    assert command.argv[-7:] == ("-T", "-e", "REDISCLI_AUTH", "cache", "redis-cli", "--no-auth-warning", "PING")
    assert "s3cret-redis-password" not in " ".join(command.argv)
    assert command.env["REDISCLI_AUTH"] == "s3cret-redis-password"


def test_env_file_flag_replaces_the_environments_file(project):
    (project / "ci.env").write_text("STACKCTL_HEALTH_TIMEOUT=7\n")
    cmd, _ = argv(project, "production", "LOG_LEVEL=warn\n", env_file="ci.env")
    assert cmd.count("--env-file") == 1 and cmd[cmd.index("--env-file") + 1] == str(project / "ci.env")
    assert load_settings(open_project(None, "production", env_file="ci.env")).health_timeout == 7


def test_env_file_that_is_not_there_is_refused(project):
    from stackctl.errors import ConfigError

    with pytest.raises(ConfigError, match=r"env file nope.env \(--env-file\) does not exist"):
        open_project(None, "development", env_file="nope.env")


def test_exec_options_go_to_compose_before_the_service(project):
    from stackctl.access import ExecOptions
    from stackctl.compose import Compose

    p = open_project(None, "development")
    options = ExecOptions("root", ("GREETING=hi there", "TERM"), "/tmp", True).argv()
    command = Compose(p, load_settings(p)).exec_command("api", ["id"], tty=False, options=options)
    tail = list(command.argv)[list(command.argv).index("exec"):]
    assert tail == ["exec", "-T", "-u", "root", "-e", "GREETING=hi there", "-e", "TERM", "-w", "/tmp", "api", "id"]


@pytest.mark.parametrize("bad", ["=x", "1X=2", "A B=1"])
def test_exec_variables_that_are_not_name_or_name_value_are_refused(bad):
    from stackctl.access import ExecOptions
    from stackctl.errors import ConfigError

    with pytest.raises(ConfigError, match="is not NAME or NAME=VALUE"):
        ExecOptions(env=(bad,)).argv()


def _plugin(folder, name="docker-compose"):
    folder.mkdir(parents=True, exist_ok=True)
    binary = folder / name
    binary.write_text("#!/bin/sh\n")
    binary.chmod(0o755)
    return binary


def _fresh_lookup(monkeypatch, tmp_path, dirs=()):
    import functools

    from stackctl import compose

    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "config"))
    monkeypatch.setattr(compose, "PLUGIN_DIRS", tuple(str(d) for d in dirs))
    # a lookup of its own, empty (the process's own is put back after the test)
    monkeypatch.setattr(compose, "compose_plugin", functools.cache(compose.compose_plugin.__wrapped__))
    return compose


def test_compose_runs_as_the_plugin_binary_the_docker_cli_would_pick(tmp_path, monkeypatch):
    system = _plugin(tmp_path / "system")
    compose = _fresh_lookup(monkeypatch, tmp_path, dirs=[tmp_path / "system"])
    assert compose.runnable(("docker", "compose", "--file", "a.yaml", "ps")) == [str(system), "--file", "a.yaml", "ps"]
    own = _plugin(tmp_path / "config" / "cli-plugins")  # the user's own comes first, as for the CLI
    compose = _fresh_lookup(monkeypatch, tmp_path, dirs=[tmp_path / "system"])
    assert compose.runnable(("docker", "compose", "version"))[0] == str(own)
    assert compose.runnable(("docker", "stack", "ls")) == ["docker", "stack", "ls"]  # only compose


def test_compose_goes_through_the_docker_cli_where_it_could_look_elsewhere(tmp_path, monkeypatch):
    compose = _fresh_lookup(monkeypatch, tmp_path)
    assert compose.runnable(("docker", "compose", "ps")) == ["docker", "compose", "ps"]  # no binary found
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "cli-plugins").mkdir()
    (tmp_path / "config" / "cli-plugins" / "docker-compose").write_text("not executable")
    compose = _fresh_lookup(monkeypatch, tmp_path)
    assert compose.runnable(("docker", "compose", "ps")) == ["docker", "compose", "ps"]
    _plugin(tmp_path / "config" / "cli-plugins")
    (tmp_path / "config" / "config.json").write_text('{"cliPluginsExtraDirs": ["/opt/plugins"]}')
    compose = _fresh_lookup(monkeypatch, tmp_path)
    assert compose.runnable(("docker", "compose", "ps")) == ["docker", "compose", "ps"]
