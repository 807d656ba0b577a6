"""The cached compose model is read again when any file compose reads changes."""

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
