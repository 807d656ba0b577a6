from pathlib import Path

from stackctl.build import BuildState, context_hash, targets_from_config


def make_context(tmp_path: Path) -> Path:
    ctx = tmp_path / "backend"
    (ctx / "app").mkdir(parents=True)
    (ctx / "Dockerfile").write_text("FROM x\n")
    (ctx / "app" / "main.py").write_text("print(1)\n")
    (ctx / ".dockerignore").write_text("**/__pycache__\n")
    return ctx


def config(ctx: Path, arg="3.12") -> dict:
    build = {"context": str(ctx), "args": {"PYTHON_IMAGE": arg}}
    return {"services": {
        "migrate": {"image": "api:dev", "build": build, "labels": {"stackctl.role": "oneshot"}},
        "api": {"image": "api:dev", "build": build},
        "db": {"image": "postgis"},
    }}


def test_one_target_per_image_named_after_the_serving_service(tmp_path):
    targets = targets_from_config(config(make_context(tmp_path)), ["db", "migrate", "api"])
    assert [(t.service, t.image) for t in targets] == [("api", "api:dev")]


def test_hash_changes_with_source_and_build_args_but_not_ignored_files(tmp_path):
    ctx = make_context(tmp_path)
    (target,) = targets_from_config(config(ctx), ["api"])
    first = context_hash(target)
    (ctx / "app" / "__pycache__").mkdir()
    (ctx / "app" / "__pycache__" / "main.pyc").write_bytes(b"\0")
    assert context_hash(target) == first
    (ctx / "app" / "main.py").write_text("print(2)\n")
    assert context_hash(target) != first
    (other,) = targets_from_config(config(ctx, arg="3.11"), ["api"])
    assert context_hash(other) != context_hash(target)


def test_state_is_current_only_for_same_hash_and_image(tmp_path):
    state = BuildState(tmp_path)
    state.record("api:dev", "h1", "sha256:1")
    again = BuildState(tmp_path)
    assert again.is_current("api:dev", "h1", "sha256:1")
    assert not again.is_current("api:dev", "h2", "sha256:1")
    assert not again.is_current("api:dev", "h1", "sha256:2")
    assert not again.is_current("api:dev", "h1", None)
