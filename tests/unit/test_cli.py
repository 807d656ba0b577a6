"""The CLI layer: help, version, and bad input giving one line and a non-zero exit."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def stackctl(*args, cwd=ROOT, env=None):
    import os

    full_env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "120", **(env or {})}
    return subprocess.run([sys.executable, "-m", "stackctl", *args], cwd=cwd, env=full_env,
                          capture_output=True, text=True, timeout=60)


def test_help_lists_commands():
    out = stackctl("--help")
    assert out.returncode == 0
    for command in ("check", "up", "status", "logs", "restart", "down"):
        assert command in out.stdout


def test_version_names_stackctl_the_engine_and_compose():
    from importlib.metadata import version

    from stackctl import __version__

    out = stackctl("--version", env={"DOCKER_HOST": "unix:///nonexistent/docker.sock"})
    lines = out.stdout.splitlines()
    assert out.returncode == 0, out.stderr
    assert lines[0].split() == ["stackctl:", __version__] and __version__ == version("stackctl")
    assert lines[1].split(None, 1) == ["engine:", "no Docker engine answers at unix:///nonexistent/docker.sock: "
                                                  "the socket does not exist"]
    assert lines[2].startswith("compose:")


def test_the_version_comes_from_the_git_tag():
    """setuptools-scm: at a tag vX.Y.Z the version is X.Y.Z; after it, X.Y.(Z+1).devN+g<commit>."""
    import re

    from stackctl import __version__

    described = subprocess.run(["git", "describe", "--tags", "--match", "v*", "--long", "--dirty"], cwd=ROOT,
                               capture_output=True, text=True)
    if described.returncode != 0:  # a copy without history or tags: setuptools-scm's fallback
        assert __version__.startswith("0.0")
        return
    tag, distance, commit, dirty = re.fullmatch(r"v(.+)-(\d+)-g([0-9a-f]+)(-dirty)?",
                                                described.stdout.strip()).groups()
    if dirty:  # uncommitted changes: the next version's development release
        assert __version__.startswith(tag.rsplit(".", 1)[0] + ".")
    elif distance == "0":
        assert __version__.split("+")[0] == tag
    else:
        assert f".dev{distance}" in __version__ and commit[:7] in __version__




def test_help_does_not_import_heavy_libraries():
    code = ("import sys; sys.argv=['stackctl','--help']\n"
            "from stackctl.cli import main\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            "heavy = [m for m in ('rich', 'python_on_whales', 'docker', 'pydantic', 'psycopg', 'httpx', 'redis')"
            " if m in sys.modules]\nprint('HEAVY', heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert "HEAVY []" in out.stdout


def test_outside_a_project_is_one_line_error(tmp_path):
    out = stackctl("status", cwd=tmp_path, env={"STACKCTL_PROJECT_DIR": ""})
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: no compose file (compose.yaml, compose.yml, "
                                                   "docker-compose.yml, docker-compose.yaml) in")


def test_bad_env_value_is_one_line_error(tmp_path):
    (tmp_path / "docker-compose.yml").write_text("services: {}\n")
    (tmp_path / ".env").write_text("STACKCTL_HEALTH_TIMEOUT=soon\nLOG_LEVEL=warn\n")
    out = stackctl("up", cwd=tmp_path, env={"STACKCTL_PROJECT_DIR": ""})
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    assert "STACKCTL_HEALTH_TIMEOUT='soon' in .env" in lines[0] and "fix it in .env" in lines[0]


def test_bad_roles_file_is_one_line_error(tmp_path):
    (tmp_path / "compose.yaml").write_text("services: {}\n")
    (tmp_path / "stackctl.yaml").write_text("database: postgres\nbackend: api\n")
    out = stackctl("status", cwd=tmp_path, env={"STACKCTL_PROJECT_DIR": ""})
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    assert lines[0].startswith("error: stackctl.yaml: backend is not a known key"), lines[0]


def test_unknown_compose_file_is_one_line_error(tmp_path):
    out = stackctl("-f", "nope.yml", "status", cwd=tmp_path, env={"STACKCTL_PROJECT_DIR": ""})
    assert out.returncode == 2
    assert out.stderr.strip() == "error: compose file nope.yml (-f/--file) does not exist → fix the path in -f/--file"


def test_down_volumes_without_yes_refuses_when_not_interactive(tmp_path):
    (tmp_path / "compose").mkdir()
    (tmp_path / "compose" / "compose.yaml").write_text("services: {}\n")
    out = subprocess.run([sys.executable, "-m", "stackctl", "--project-dir", str(tmp_path), "down", "--volumes"],
                         capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=60)
    assert out.returncode == 2
    assert "needs confirmation" in out.stderr and "--yes" in out.stderr




def test_swarm_target_refuses_what_it_cannot_do_yet_and_bad_replicas_in_one_line():
    ps = stackctl("--target", "swarm", "ps")
    assert ps.returncode == 2 and "stackctl ps does not work with --target swarm yet" in ps.stderr
    for bad in ("api", "api=0", "=3", "api=x"):
        out = stackctl("--target", "swarm", "up", "--replicas", bad)
        assert out.returncode == 2 and f"--replicas {bad}: expected SERVICE=COUNT" in out.stderr, out.stderr
    one_host = stackctl("up", "--replicas", "api=3")
    assert one_host.returncode == 2 and "--replicas is for --target swarm" in one_host.stderr


def test_old_spellings_still_work_and_say_what_they_are_now():
    out = stackctl("watch", "--help")
    assert out.returncode == 0 and out.stdout.startswith("Usage: stackctl monitor")
    assert out.stderr.strip() == "notice: stackctl watch is now stackctl monitor; the old name goes in a later release"
    shown = stackctl("--help").stdout
    assert "--project-directory" in shown and "--project-dir " not in shown and "--env-file" in shown
    gone = stackctl("--project-dir", "/nonexistent/project", "ps")
    assert gone.returncode == 2 and "project directory /nonexistent/project does not exist" in gone.stderr
    assert "--lines" not in stackctl("audit", "--help").stdout
    assert "--follow" in stackctl("status", "--help").stdout and "--watch" not in stackctl("status", "--help").stdout


def test_a_renamed_option_names_its_new_spelling(tmp_path):
    (tmp_path / "compose.yaml").write_text("services:\n  app:\n    image: example/app:1\n")
    out = stackctl("status", "--watch", "--json", cwd=tmp_path, env={"STACKCTL_PROJECT_DIR": ""})
    assert "notice: --watch/-w is now --follow; the old spelling goes in a later release" in out.stderr
