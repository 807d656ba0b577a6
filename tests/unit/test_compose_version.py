"""compose's version is asked once per install: kept under the docker CLI's and plugins' file
stats, asked again when they change or when compose was missing."""

from stackctl import compose


def test_the_version_is_asked_once_per_install_and_again_when_it_changes(tmp_path, monkeypatch):
    asked, key, answer = [], ["install-1"], ["2.40.3"]
    monkeypatch.setattr(compose, "_ask_version", lambda host: asked.append(host) or answer[0])
    monkeypatch.setattr(compose, "_install_key", lambda: key[0])
    state = tmp_path / ".stackctl"
    assert compose.installed_version(None, state) == "2.40.3"
    assert compose.installed_version(None, state) == "2.40.3" and len(asked) == 1
    key[0], answer[0] = "install-2", "2.41.0"  # the plugin was upgraded
    assert compose.installed_version(None, state) == "2.41.0" and len(asked) == 2


def test_a_missing_compose_is_never_kept_and_no_cache_dir_always_asks(tmp_path, monkeypatch):
    asked, answer = [], [None]
    monkeypatch.setattr(compose, "_ask_version", lambda host: asked.append(host) or answer[0])
    monkeypatch.setattr(compose, "_install_key", lambda: "install-1")
    state = tmp_path / ".stackctl"
    assert compose.installed_version(None, state) is None
    answer[0] = "2.40.3"  # installed since, under the same stats (a plugin dir not in the key)
    assert compose.installed_version(None, state) == "2.40.3"
    assert compose.installed_version(None) == "2.40.3" and len(asked) == 3
    (state / compose.VERSION_CACHE).write_text("not json")
    assert compose.installed_version(None, state) == "2.40.3"  # a damaged cache is asked past


def test_the_install_key_follows_the_plugin_file(tmp_path, monkeypatch):
    cli = tmp_path / "bin" / "docker"  # a docker CLI of the test's own: only its file is looked at
    cli.parent.mkdir()
    cli.write_bytes(b"#!/bin/sh\n")
    cli.chmod(0o755)
    monkeypatch.setenv("PATH", str(cli.parent))
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path))
    first = compose._install_key()
    (tmp_path / "cli-plugins").mkdir()
    (tmp_path / "cli-plugins" / "docker-compose").write_bytes(b"v2")
    assert compose._install_key() != first


import pytest


@pytest.mark.parametrize("text, number, ok", [
    ("v2.40.3", (2, 40, 3), True), ("2.29.7-desktop.1", (2, 29, 7), True), ("v5.0.1", (5, 0, 1), True),
    ("5.5.0", (5, 5, 0), True), ("2.24.0", (2, 24, 0), True), ("v2.20.2", (2, 20, 2), False),
    ("1.29.2", (1, 29, 2), False), ("10.1", (10, 1, 0), True),
])
def test_versions_are_compared_as_numbers_and_every_later_major_is_accepted(text, number, ok):
    assert compose.parse_version(text) == number
    assert (compose.version_problem(text) is None) is ok


def test_a_version_that_is_not_one_is_said():
    assert compose.parse_version("dev") is None
    assert "is not a version" in compose.version_problem("dev")
