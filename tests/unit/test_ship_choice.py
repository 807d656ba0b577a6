"""Which images a deploy of shipped bytes puts in service (stackctl.deploy.ship.wanted), on the fake engine."""

import json
from types import SimpleNamespace

import pytest

from stackctl.deploy import releases, ship
from stackctl.errors import StackError
from stackctl.plan import parse_model
from stackctl.roles import parse as parse_roles
from tests.unit.fakes import FakeEngine

R = "20261201T120000Z-abc1234def"
DIGEST = "sha256:" + "1" * 64


def stack_of(tmp_path, services: dict, registry: str | None = "ghcr.io/acme"):
    config = {"name": "shop", "services": services}
    declared = parse_roles({"apps": [n for n in services if n != "db"]}, "test")
    project = SimpleNamespace(root=tmp_path, state_dir=tmp_path / ".stackctl", env="production",
                              deployed_file=tmp_path / ".stackctl" / "deployed-production.yaml")
    return SimpleNamespace(config=config, model=parse_model(config, declared), engine=FakeEngine(), project=project,
                           settings=SimpleNamespace(registry=registry), declared=declared)


def test_a_release_is_asked_of_the_registry_by_tag_and_kept_by_digest(tmp_path):
    stack = stack_of(tmp_path, {"api": {"build": {"context": "."}}, "web": {"image": "acme/web:1", "build": {"context": "web"}}})
    stack.engine.registry = {f"ghcr.io/acme/api:{R}": DIGEST, f"ghcr.io/acme/acme/web:{R}": DIGEST}
    wanted = ship.wanted(stack, R, {})
    assert wanted.release == R and wanted.images == {"api": f"ghcr.io/acme/api@{DIGEST}",
                                                     "web": f"ghcr.io/acme/acme/web@{DIGEST}"}


def test_a_release_missing_from_the_registry_is_one_line_naming_what_is_missing(tmp_path):
    stack = stack_of(tmp_path, {"api": {"build": {"context": "."}}})
    with pytest.raises(StackError, match=rf"release {R} is not in the registry: no ghcr.io/acme/api:{R}") as caught:
        ship.wanted(stack, R, {})
    assert "docker login" in caught.value.hint


def test_this_machines_record_of_the_push_is_used_without_asking(tmp_path):
    stack = stack_of(tmp_path, {"api": {"build": {"context": "."}}})
    (tmp_path / ".stackctl" / "pushed").mkdir(parents=True)
    (tmp_path / ".stackctl" / "pushed" / f"{R}.json").write_text(json.dumps(
        {"release": R, "images": {"api": f"ghcr.io/acme/api@{DIGEST}"}}))
    assert ship.wanted(stack, R, {}).images == {"api": f"ghcr.io/acme/api@{DIGEST}"}
    (tmp_path / ".stackctl" / "pushed" / f"{R}.json").write_text(json.dumps(
        {"release": R, "images": {"api": "ghcr.io/acme/api:latest"}}))  # read as input: not a digest, not used
    with pytest.raises(StackError, match="is not in the registry"):
        ship.wanted(stack, R, {})


def test_a_stack_of_pulled_images_deploys_one_service_by_image_resolved_to_its_digest(tmp_path):
    stack = stack_of(tmp_path, {"api": {"image": "ghcr.io/acme/app:1.2"}, "db": {"image": "postgres:16"}})
    stack.engine.registry = {"ghcr.io/acme/app:1.3": DIGEST}
    wanted = ship.wanted(stack, None, {"api": "ghcr.io/acme/app:1.3"})
    assert wanted.images == {"api": f"ghcr.io/acme/app@{DIGEST}"} and releases.RELEASE_TAG.match(wanted.release)


@pytest.mark.parametrize("release, images, said", [
    ("latest", {}, "'latest' is not a release id"),
    (None, {"nginx": "nginx@" + DIGEST}, "--image names nginx, not a service of the stack"),
    (None, {"web": "ghcr.io/acme/web:2"}, "ghcr.io/acme/web:2 is not in its registry"),
])
def test_bad_input_is_one_line_and_nothing_is_chosen(tmp_path, release, images, said):
    stack = stack_of(tmp_path, {"web": {"image": "acme/web:1"}})
    with pytest.raises(StackError, match=said):
        ship.wanted(stack, release, images)


def test_nothing_deployed_and_a_built_service_not_named_is_refused(tmp_path):
    stack = stack_of(tmp_path, {"api": {"build": {"context": "."}}, "web": {"image": "acme/web:1"}})
    with pytest.raises(StackError, match="nothing is deployed yet and --image does not name api"):
        ship.wanted(stack, None, {"web": "acme/web@" + DIGEST})
