"""One set of defaults: Settings, .env.example and the compose files' ${VAR:-default} agree."""

import re
from pathlib import Path

from stackctl.settings import PREFIX, Settings

ROOT = Path(__file__).resolve().parents[2]
# stackctl passes the TLS pair's absolute paths (from STACKCTL_TLS_*_FILE); the defaults are for by hand.
PROVIDED_BY_STACKCTL = {"TLS_CERT_PATH", "TLS_KEY_PATH"}
DEV_SECRETS = {"POSTGRES_PASSWORD": "dev-only-postgres-password", "REDIS_PASSWORD": "dev-only-redis-password"}


def example_values() -> dict[str, str]:
    values = {}
    for line in (ROOT / ".env.example").read_text().splitlines():
        if line and not line.startswith("#") and "=" in line:
            key, value = line.split("=", 1)
            values[key] = value
    return values


def test_env_example_documents_every_stackctl_setting_with_its_default():
    example = {k: v for k, v in example_values().items() if k.startswith(PREFIX)}
    fields = Settings.model_fields
    assert set(example) == {PREFIX + name.upper() for name in fields}
    for name, field in fields.items():
        default = field.default
        shown = str(int(default)) if isinstance(default, float) and default.is_integer() else str(default)
        assert example[PREFIX + name.upper()] == shown, name


def test_compose_defaults_match_the_example():
    example = example_values()
    lines = [*(ROOT / "compose" / "compose.yaml").read_text().splitlines(),
             *(ROOT / "compose" / "compose.prod.yaml").read_text().splitlines()]
    text = "\n".join(line for line in lines if not line.lstrip().startswith("#"))
    defaults = dict(re.findall(r"\$\{([A-Z_]+):-([^}]*)\}", text))
    assert defaults, "compose.yaml should interpolate settings"
    for var, default in defaults.items():
        if var in PROVIDED_BY_STACKCTL:
            continue
        if var in DEV_SECRETS:
            assert default == DEV_SECRETS[var] and example[var] == "change-me", var
        else:
            assert example[var] == default, var
