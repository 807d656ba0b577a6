"""Installed as a tool: the wheel carries what stackctl needs at run time (the proxy snippet),
and no message sends a user to this repository's scripts/."""

import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_wheel_carries_the_snippet_and_no_hint_points_at_this_repository(tmp_path):
    # built from a copy: a build writes stackctl/_version.py (setuptools-scm) where it builds, and
    # the tree the other tests import from must not change under them
    source = tmp_path / "source"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(".venv", ".stackctl", "build", "*.egg-info",
                                                                "__pycache__", ".git"))
    out = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                          "-w", str(tmp_path), str(source)], capture_output=True, text=True, timeout=300,
                         env={**__import__("os").environ, "SETUPTOOLS_SCM_PRETEND_VERSION": "0.0.0"})
    assert out.returncode == 0, out.stderr
    (wheel,) = tmp_path.glob("stackctl-*.whl")
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        assert "stackctl/snippets/nginx-upstream.conf" in names
        assert "stackctl/init.py" in names and "stackctl/roles.py" in names
        for name in names:
            if name.endswith(".py"):
                text = zf.read(name).decode()
                # hints are string literals; comments and docstrings may name the repo's scripts
                for literal in re.findall(r'"[^"\n]*scripts/[^"\n]*"', text):
                    assert "bash scripts/" not in literal, f"{name}: {literal}"


def test_every_dependency_is_locked_at_one_version_with_its_hashes():
    """requirements.lock (what scripts/setup.sh installs, --require-hashes) pins every dependency
    pyproject.toml names, runtime and test, at one version that satisfies it, with sha256 hashes."""
    import tomllib

    from packaging.requirements import Requirement

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = [Requirement(r) for r in project["dependencies"] + project["optional-dependencies"]["test"]]
    text = (ROOT / "requirements.lock").read_text()
    pinned = {}
    for block in re.split(r"\n(?=[A-Za-z0-9])", text):
        found = re.match(r"([A-Za-z0-9_.-]+)==(\S+) \\", block)
        if found:
            assert "--hash=sha256:" in block, found.group(1)
            pinned[re.sub(r"[-_.]+", "-", found.group(1)).lower()] = found.group(2)
    for requirement in wanted:
        name = re.sub(r"[-_.]+", "-", requirement.name).lower()
        assert name in pinned, f"{requirement.name} is not in requirements.lock: run pip-compile (see its header)"
        assert requirement.specifier.contains(pinned[name], prereleases=True), (requirement, pinned[name])


def test_an_install_from_a_tag_shows_the_license_the_version_the_completion_and_composes_flags(tmp_path):
    """What `pipx install` of a release gives, in an empty folder: the wheel of a clean clone at a
    tag, installed on its own (its dependencies are this environment's)."""
    import email
    import os

    source = tmp_path / "source"
    run = dict(capture_output=True, text=True, timeout=300)
    assert subprocess.run(["git", "clone", "-q", str(ROOT), str(source)], **run).returncode == 0
    assert subprocess.run(["git", "-C", str(source), "-c", "user.name=t", "-c", "user.email=t@example.invalid",
                           "tag", "-a", "v9.8.7", "-m", "release"], **run).returncode == 0
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                            "-w", str(tmp_path / "dist"), str(source)], **run)
    assert built.returncode == 0, built.stderr
    (wheel,) = (tmp_path / "dist").glob("stackctl-9.8.7-*.whl")
    with zipfile.ZipFile(wheel) as zf:
        meta = email.message_from_bytes(zf.read("stackctl-9.8.7.dist-info/METADATA"))
        assert "Apache License" in zf.read("stackctl-9.8.7.dist-info/licenses/LICENSE").decode()
    assert meta["Version"] == "9.8.7" and meta["License-Expression"] == "Apache-2.0"
    assert meta["Summary"] and meta["Author"] and meta["Requires-Python"] == ">=3.11"
    installed = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target",
                                str(tmp_path / "site"), str(wheel)], **run)
    assert installed.returncode == 0, installed.stderr
    empty = tmp_path / "empty"
    empty.mkdir()
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "site"), "DOCKER_HOST": "unix:///nonexistent.sock"}

    def stackctl(*args):
        return subprocess.run([sys.executable, "-m", "stackctl", *args], cwd=empty, env=env, **run)

    assert stackctl("--version").stdout.splitlines()[0].split() == ["stackctl:", "9.8.7"]
    assert "_STACKCTL_COMPLETE=bash_complete" in stackctl("completion", "bash").stdout
    shown = stackctl("--help").stdout
    assert all(flag in shown for flag in ("--project-directory", "--env-file", "--profile", "-p, --project-name"))
    assert all(flag in stackctl("exec", "--help").stdout for flag in ("-u, --user", "-w, --workdir", "-T, --no-TTY"))
    assert "--until" in stackctl("logs", "--help").stdout
