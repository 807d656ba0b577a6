"""A no-op `up` skips compose only when compose would keep every container as it is."""

from dataclasses import replace

from stackctl import converged
from stackctl.plan import parse_model
from stackctl.roles import parse as parse_roles
from tests.unit.fakes import FakeEngine, container, fake_stack


def model():
    config = {"name": "shop",
              "services": {"cache": {"image": "cache:latest"},
                           "migrate": {"image": "api:latest", "depends_on": {"cache": {"condition": "service_healthy"}}},
                           "api": {"image": "api:latest",
                                   "depends_on": {"cache": {"condition": "service_healthy"},
                                                  "migrate": {"condition": "service_completed_successfully"}}}}}
    return parse_model(config, parse_roles({"cache": "cache", "migrate": "migrate", "apps": {"api": {}}}, "test"))


def converged_stack(tmp_path):
    engine = FakeEngine([container("cache"), replace(container("migrate", image="api:latest", state="exited"),
                                                     image_id="sha256:api"), container("api")])
    engine.images.update({"cache:latest": "sha256:cache", "api:latest": "sha256:api"})
    stack = fake_stack(tmp_path, model(), engine)
    stack.compose.create_command = lambda services: f"docker compose up --no-start {' '.join(services)}"
    stack.project.state_dir.mkdir()
    return stack


def test_nothing_recorded_means_compose_is_asked(tmp_path):
    stack = converged_stack(tmp_path)
    assert not converged.unchanged(stack, ["api"], stack.containers())


def test_the_same_inputs_containers_and_images_skip_compose(tmp_path):
    stack = converged_stack(tmp_path)
    converged.record(stack, ["api"], stack.containers())
    assert converged.unchanged(stack, ["api"], stack.containers())
    assert converged.unchanged(stack, ["cache", "migrate"], stack.containers())  # recorded as api's dependencies


def test_a_rebuilt_image_a_new_container_or_a_stopped_app_asks_compose(tmp_path):
    stack = converged_stack(tmp_path)
    converged.record(stack, ["api"], stack.containers())
    current = stack.containers()
    stack.engine.images["api:latest"] = "sha256:api-rebuilt"
    assert not converged.unchanged(stack, ["api"], current)
    stack.engine.images["api:latest"] = "sha256:api"
    assert not converged.unchanged(stack, ["api"], {**current, "cache": replace(current["cache"], id="cache-new")})
    assert not converged.unchanged(stack, ["api"], {**current, "api": replace(current["api"], state="exited")})
    assert not converged.unchanged(stack, ["api"], {k: v for k, v in current.items() if k != "cache"})
    assert converged.unchanged(stack, ["api"], current)


def test_a_changed_compose_file_or_create_command_asks_compose(tmp_path):
    stack = converged_stack(tmp_path)
    converged.record(stack, ["api"], stack.containers())
    (tmp_path / "compose.yaml").write_text("services: {api: {image: api:latest}}\n")
    stack.__dict__.pop("model_key")
    assert not converged.unchanged(stack, ["api"], stack.containers())
    converged.record(stack, ["api"], stack.containers())
    stack.compose.create_command = lambda services: "docker compose up --no-start --pull always"
    assert not converged.unchanged(stack, ["api"], stack.containers())
