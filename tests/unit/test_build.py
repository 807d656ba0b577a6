from pathlib import Path

from stackctl.build import BuildState, context_files, context_hash, targets
from stackctl.plan import parse_model
from stackctl.roles import parse as parse_roles


def make_context(tmp_path: Path) -> Path:
    ctx = tmp_path / "backend"
    (ctx / "app").mkdir(parents=True)
    (ctx / "Dockerfile").write_text("FROM x\n")
    (ctx / "app" / "main.py").write_text("print(1)\n")
    (ctx / ".dockerignore").write_text("**/__pycache__\n")
    return ctx


def model(ctx: Path, arg="3.12"):
    build = {"context": str(ctx), "args": {"PYTHON_IMAGE": arg}}
    config = {"name": "shop", "services": {
        "migrate": {"image": "api:dev", "build": build},
        "api": {"image": "api:dev", "build": build},
        "worker": {"build": build},
        "db": {"image": "postgis"},
    }}
    return parse_model(config, parse_roles({"migrate": "migrate", "apps": ["api", "worker"]}, "test"))


def test_one_target_per_image_named_after_the_serving_service(tmp_path):
    found = targets(model(make_context(tmp_path)), ["db", "migrate", "api", "worker"])
    # a service that builds without naming an image gets compose's default name: <project>-<service>
    assert [(t.service, t.image) for t in found] == [("api", "api:dev"), ("worker", "shop-worker")]


def test_hash_changes_with_source_and_build_args_but_not_ignored_files(tmp_path):
    ctx = make_context(tmp_path)
    (target,) = targets(model(ctx), ["api"])
    first = context_hash(target)
    (ctx / "app" / "__pycache__").mkdir()
    (ctx / "app" / "__pycache__" / "main.pyc").write_bytes(b"\0")
    assert context_hash(target) == first
    (ctx / "app" / "main.py").write_text("print(2)\n")
    assert context_hash(target) != first
    (other,) = targets(model(ctx, arg="3.11"), ["api"])
    assert context_hash(other) != context_hash(target)


def test_allow_list_dockerignore_follows_docker_rules(tmp_path):
    """`*` then `!src`: only src/ (and the Dockerfile, .dockerignore) are sent: an edit there rebuilds."""
    ctx = tmp_path / "backend"
    (ctx / "src").mkdir(parents=True)
    (ctx / "node_modules" / "x").mkdir(parents=True)
    (ctx / "Dockerfile").write_text("FROM node\n")
    (ctx / "src" / "main.ts").write_text("console.log(1)\n")
    (ctx / "node_modules" / "x" / "index.js").write_text("1\n")
    (ctx / "README.md").write_text("docs\n")
    (ctx / ".dockerignore").write_text("# allow-list\n*\n!src\n!package.json\n")
    config = {"name": "app", "services": {"backend": {"build": {"context": str(ctx)}}}}
    (target,) = targets(parse_model(config, parse_roles({"apps": ["backend"]}, "test")), ["backend"])
    assert context_files(target) == [".dockerignore", "Dockerfile", "src/main.ts"]  # as docker sends it
    first = context_hash(target)
    (ctx / "README.md").write_text("more docs\n")
    assert context_hash(target) == first
    (ctx / "src" / "main.ts").write_text("console.log(2)\n")
    assert context_hash(target) != first


def test_state_is_current_only_for_same_hash_and_image(tmp_path):
    state = BuildState(tmp_path)
    state.record("api:dev", "h1", "sha256:1")
    again = BuildState(tmp_path)
    assert again.is_current("api:dev", "h1", "sha256:1")
    assert not again.is_current("api:dev", "h2", "sha256:1")
    assert not again.is_current("api:dev", "h1", "sha256:2")
    assert not again.is_current("api:dev", "h1", None)
