"""Which variables are secrets, how their values are masked (whole, never inside another word),
and how weak ones are named in production."""

import pytest

from stackctl import masking
from stackctl.env_values import is_secret, weak_secret


@pytest.mark.parametrize("name, value, secret", [
    ("POSTGRES_PASSWORD", "x", True), ("DB_PASS", "x", True), ("SECRET_KEY", "x", True),
    ("DJANGO_SECRET_KEY", "x", True), ("SECRET_KEY_BASE", "x", True), ("SENTRY_DSN", "x", True),
    ("GOOGLE_CREDENTIALS", "x", True), ("GITHUB_TOKEN", "x", True), ("APP_KEY", "x", True),
    ("STRIPE_API_KEY", "x", True), ("JWT_PRIVATE_KEY", "x", True), ("MYSQL_ROOT_PWD", "x", True),
    ("POSTGRES_PASSWORD_FILE", "/run/secrets/pg", False), ("STRIPE_PUBLISHABLE_KEY", "pk_x", False),
    ("JWT_PUBLIC_KEY", "x", False), ("KEYCLOAK_URL", "http://kc", False), ("BYPASS_CACHE", "1", False),
    ("CACHE_KEY_PREFIX", "app", False), ("DATABASE_URL", "postgres://app:hunter2hunter2@db/app", True),
    ("REDIS_URL", "redis://redis:6379/0", False), ("LOG_LEVEL", "info", False),
    ("PWD", "/home/me/shop", False), ("OLDPWD", "/home/me", False),  # the shell's folders: paths in messages stay shown
])
def test_a_secret_is_named_so_or_carries_credentials(name, value, secret):
    assert is_secret(name, value) is secret


@pytest.fixture
def known(monkeypatch):
    monkeypatch.setattr(masking, "_known", set())
    monkeypatch.setattr(masking, "_sources", [])
    monkeypatch.setattr(masking, "_pattern", [None, 0])
    masking.register(["myproject", "hunter2hunter2"])


def test_a_secret_is_masked_where_it_stands_whole_never_inside_another_word(known):
    assert masking.mask("gunicorn myproject.wsgi:application") == "gunicorn myproject.wsgi:application"
    assert masking.mask("password=myproject failed") == "password=**** failed"
    assert masking.mask("postgres://app:hunter2hunter2@db/app") == "postgres://app:****@db/app"
    assert masking.mask("'hunter2hunter2'") == "'****'" and masking.mask("xhunter2hunter2") == "xhunter2hunter2"


def test_in_the_compose_model_a_secret_string_is_replaced_whole(known):
    model = {"environment": {"DB": "myproject", "CMD": "myproject.wsgi:application", "N": 3}}
    assert masking.mask_data(model) == {"environment": {"DB": "****", "CMD": "myproject.wsgi:application", "N": 3}}


@pytest.mark.parametrize("value, why", [
    ("change_me", "placeholder"), ("short", "shorter than 16"), ("postgres://u:change_me@db/app", "carries a password"),
    ("postgres://u:Zq8r3TnW9pLk2VxY@db/app", None),
])
def test_weak_production_secrets_are_named_in_urls_too(value, why):
    found = weak_secret(value)
    assert (found is None) if why is None else why in found
