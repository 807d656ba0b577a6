"""The cached compose model is read again when any file compose reads changes."""

import json

from stackctl import model_cache
from stackctl.project import Project


def test_key_follows_includes_extends_env_files_and_the_roles_file(tmp_path, monkeypatch):
    monkeypatch.delenv("COMPOSE_PROJECT_NAME", raising=False)
    (tmp_path / "compose.yaml").write_text(
        "include:\n  - extra/db.yaml\nservices:\n  web:\n    extends: {file: base.yaml, service: web}\n"
        "    env_file: [web.env]\n    image: nginx:!reset\n")
    (tmp_path / "extra").mkdir()
    (tmp_path / "extra" / "db.yaml").write_text("services:\n  db:\n    env_file: db.env\n")
    for name in ("base.yaml", "web.env", "extra/db.env", ".env", "stackctl.yaml"):
        (tmp_path / name).write_text("# v1\n")
    project = Project(tmp_path, "development", (tmp_path / "compose.yaml",))
    inputs = model_cache.inputs(project)
    for name in ("extra/db.yaml", "base.yaml", "web.env", "extra/db.env", ".env", "stackctl.yaml"):
        assert tmp_path / name in inputs, name
    before = model_cache.key(project)
    for name in ("extra/db.env", "base.yaml", "stackctl.yaml"):
        (tmp_path / name).write_text("# v2\n")
        after = model_cache.key(project)
        assert after != before, name
        before = after
    assert model_cache.key(project) == before  # nothing changed: the cache hits


def test_two_file_sets_of_one_project_do_not_rewrite_the_cache_on_every_command(tmp_path, monkeypatch):
    """Development reads compose.yaml, production compose.yaml and compose.prod.yaml: what each found
    is kept beside the other's, so a command that hits the cache writes nothing (it used to rewrite
    the cache on every command once a process had opened both)."""
    from stackctl.plan import StackModel

    monkeypatch.delenv("COMPOSE_PROJECT_NAME", raising=False)
    (tmp_path / "compose.yaml").write_text("services:\n  web:\n    image: nginx\n    env_file: [web.env]\n")
    (tmp_path / "compose.prod.yaml").write_text("services:\n  web:\n    env_file: [prod.env]\n")
    for name in ("web.env", "prod.env", "stackctl.yaml"):
        (tmp_path / name).write_text("# v1\n")
    (tmp_path / ".stackctl").mkdir()
    dev = Project(tmp_path, "development", (tmp_path / "compose.yaml",))
    prod = Project(tmp_path, "production", (tmp_path / "compose.yaml", tmp_path / "compose.prod.yaml"))
    model = StackModel(services={}, name="t")
    cache = tmp_path / ".stackctl" / model_cache.FILE

    def command(project):  # one process: what it finds starts empty
        monkeypatch.setattr(model_cache, "_found", {})
        key = model_cache.key(project)
        if model_cache.load(project, key) is None:
            model_cache.store(project, key, model)
        return key

    def mixed(project, other):  # one process that also opened another file set (a release's override)
        monkeypatch.setattr(model_cache, "_found", {})
        model_cache.key(other)
        key = model_cache.key(project)
        assert model_cache.load(project, key) is not None

    command(dev)
    mixed(dev, prod)  # the other set's files are added once
    refs = json.loads(cache.read_text())["references"]
    assert set(refs) == {str(tmp_path / "compose.yaml"), str(tmp_path / "compose.prod.yaml")}
    written = cache.read_bytes()
    for _ in range(2):  # hits, whatever else a process opened: nothing rewritten
        command(dev)
        assert cache.read_bytes() == written
        mixed(dev, prod)
        assert cache.read_bytes() == written
    (tmp_path / "compose.prod.yaml").unlink()
    command(prod)  # another model (its key changed): the gone file's entry goes with the rewrite
    assert set(json.loads(cache.read_text())["references"]) == {str(tmp_path / "compose.yaml")}
