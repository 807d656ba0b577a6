"""What stackctl reads through the docker CLI and compose itself (`docker compose config`, its
interpolation of env files), and the CLI's one-line errors around it: they need the docker
binary, so they are not unit tests (the unit suite runs without one)."""

from stackctl.preflight import check_env
from tests.unit.test_cli import stackctl
from tests.unit.test_preflight_env import by_name, stack


def test_no_engine_is_one_line_and_one_exit_code_everywhere(tmp_path):
    (tmp_path / "compose.yaml").write_text("services:\n  app:\n    image: example/app:1\n")
    env = {"DOCKER_HOST": "unix:///nonexistent/docker.sock", "STACKCTL_PROJECT_DIR": ""}
    expected = "error: no Docker engine answers at unix:///nonexistent/docker.sock: the socket does not exist"
    for command in (["ps"], ["status"], ["up"], ["down"], ["exec", "app", "true"], ["stop"]):
        out = stackctl(*command, cwd=tmp_path, env=env)
        assert out.returncode == 4, (command, out.stderr)
        assert out.stderr.splitlines()[0].startswith(expected + " →"), (command, out.stderr)
        assert len(out.stderr.splitlines()) == 1, (command, out.stderr)
    for command in (["check"], ["doctor"]):  # every problem listed, and the same exit code
        out = stackctl(*command, cwd=tmp_path, env=env)
        assert out.returncode == 4 and "no Docker engine answers" in out.stdout, (command, out.stdout)


def test_service_names_complete_in_the_shell(tmp_path):
    (tmp_path / "compose.yaml").write_text("services:\n  api: {image: python}\n  db: {image: postgres}\n"
                                           "  admin: {image: python}\n")
    out = stackctl(cwd=tmp_path, env={"STACKCTL_PROJECT_DIR": "", "COMP_WORDS": "stackctl logs a", "COMP_CWORD": "2",
                                      "_STACKCTL_COMPLETE": "bash_complete"})
    assert sorted(out.stdout.split()) == ["plain,admin", "plain,api"]


def test_production_judges_each_interpolated_secret(tmp_path, monkeypatch):
    s = stack(tmp_path, "production", "POSTGRES_PASSWORD=change-me\n", monkeypatch)
    checks = by_name(check_env(s))
    assert "variables" not in checks
    assert checks["secrets"].detail == ("POSTGRES_PASSWORD is a placeholder or development default; "
                                        "REDIS_PASSWORD is not set")
    s = stack(tmp_path, "production", "POSTGRES_PASSWORD=3f9c1e7a5b2d8c4e6f0a\nREDIS_PASSWORD=9e8d7c6b5a4f3e2d1c0b\n",
              monkeypatch)
    assert by_name(check_env(s))["secrets"].ok


def test_an_environment_gets_the_rules_stackctl_yaml_names_for_it(tmp_path, monkeypatch):
    from stackctl.preflight import check_production

    (tmp_path / "compose.prod.yaml").write_text("services:\n  db:\n    read_only: true\n")
    (tmp_path / "stackctl.yaml").write_text("database: db\ncache: cache\n"
                                            "environments:\n  staging: production\n  preview: development\n")
    staging = stack(tmp_path, "staging", "POSTGRES_PASSWORD=change-me\n", monkeypatch)
    assert staging.project.safety == "production" and staging.project.production
    assert staging.project.compose_files()[-1] == tmp_path / "compose.prod.yaml"  # production's overlay
    assert not by_name(check_env(staging))["secrets"].ok
    assert "exposure" in by_name(check_production(staging))  # production's exposure check runs
    preview = stack(tmp_path, "preview", "", monkeypatch)
    assert preview.project.safety == "development" and not preview.project.production
    assert by_name(check_env(preview))["secrets"].detail == "preview: defaults allowed (development's rules)"
    # a name stackctl.yaml does not mention: strong secrets, nothing more
    qa = stack(tmp_path, "qa", "POSTGRES_PASSWORD=3f9c1e7a5b2d8c4e6f0a\nREDIS_PASSWORD=9e8d7c6b5a4f3e2d1c0b\n",
               monkeypatch)
    assert qa.project.safety == "checked" and qa.project.compose_files() == [tmp_path / "compose.yaml"]
    assert by_name(check_env(qa))["secrets"].ok
