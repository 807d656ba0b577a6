"""Registry addresses and the repositories a release's images get there (stackctl.registry)."""

import pytest

from stackctl import registry
from stackctl.errors import ConfigError, StackError
from tests.unit.fakes import FakeEngine


@pytest.mark.parametrize("given, kept", [
    ("ghcr.io/acme", "ghcr.io/acme"), ("https://ghcr.io/acme/", "ghcr.io/acme"),
    ("http://127.0.0.1:5000", "127.0.0.1:5000"), ("localhost:5000/team", "localhost:5000/team"),
    ("registry.example.com:8443/shop/images", "registry.example.com:8443/shop/images"),
])
def test_an_address_is_kept_as_host_port_namespace(given, kept):
    assert registry.parse_address(given) == kept


@pytest.mark.parametrize("given, said", [
    ("http://registry.example.com", "plain http:// is for a registry on loopback only"),
    ("https://ci:hunter2@registry.example.com", "carries credentials: log in once with docker login"),
    ("GHCR.io/Acme", "in lower case"), ("ftp://registry.example.com", "use host[:port][/namespace]"),
])
def test_a_bad_address_says_what_to_write(given, said):
    with pytest.raises(ValueError, match=said.replace("[", r"\[").replace("]", r"\]")):
        registry.parse_address(given)


def test_a_bad_registry_setting_is_one_line_that_never_repeats_a_password(tmp_path, monkeypatch):
    from stackctl.project import Project
    from stackctl.settings import load_settings

    monkeypatch.setenv("STACKCTL_REGISTRY", "http://registry.example.com/acme")
    with pytest.raises(ConfigError, match=r"^invalid settings: STACKCTL_REGISTRY in the environment: plain http:// is"):
        load_settings(Project(tmp_path))
    monkeypatch.setenv("STACKCTL_REGISTRY", "https://ci:hunter2hunter2@registry.example.com")
    with pytest.raises(ConfigError) as caught:
        load_settings(Project(tmp_path))
    assert "carries credentials" in caught.value.message and "hunter2" not in str(caught.value)


@pytest.mark.parametrize("image, named, repository", [
    ("stackctl/api:dev", True, "127.0.0.1:5000/team/stackctl/api"),
    ("127.0.0.1:5000/team/api:1.2", True, "127.0.0.1:5000/team/api"),  # already there
    ("ghcr.io/other/api:1", True, "127.0.0.1:5000/team/other/api"),  # another registry's host dropped
    ("shop-api", False, "127.0.0.1:5000/team/api"),  # compose named it after the project: the service's name
])
def test_each_built_image_has_one_repository_in_the_registry(image, named, repository):
    assert registry.repository_in("127.0.0.1:5000/team", "api", image, named) == repository


class _Stack:
    def __init__(self, insecure: dict):
        self.engine = FakeEngine()
        self.engine.info = lambda: {"RegistryConfig": {"IndexConfigs": insecure}}


def test_a_registry_the_engine_reaches_without_tls_is_refused_unless_on_loopback():
    stack = _Stack({"registry.example.com:5000": {"Secure": False}, "ghcr.io": {"Secure": True}})
    with pytest.raises(StackError, match="reaches registry registry.example.com:5000 without TLS"):
        registry.refuse_plain_http(stack, "registry.example.com:5000/acme")
    registry.refuse_plain_http(stack, "ghcr.io/acme")
    registry.refuse_plain_http(_Stack({"127.0.0.1:5000": {"Secure": False}}), "127.0.0.1:5000/acme")


def test_only_a_full_sha256_is_a_digest():
    assert registry.is_digest("ghcr.io/acme/api@sha256:" + "a" * 64)
    assert not registry.is_digest("ghcr.io/acme/api:20261201T000000Z")
    assert not registry.is_digest("ghcr.io/acme/api@sha256:abc")


@pytest.mark.parametrize("image, repository", [
    ("stackctl/api:dev", "stackctl/api"), ("127.0.0.1:5000/team/api", "127.0.0.1:5000/team/api"),
    ("127.0.0.1:5000/team/api@sha256:" + "1" * 64, "127.0.0.1:5000/team/api"),  # a release deployed by digest
    ("127.0.0.1:5000/team/api:20261201T000000Z", "127.0.0.1:5000/team/api"),
])
def test_a_repository_is_an_image_reference_without_its_tag_or_digest(image, repository):
    assert registry.repository(image) == repository
    assert registry.tagged(image, "R") == repository + ":R"
