"""One set of defaults: Settings, .env.example and the compose file's ${VAR:-default} agree."""

import re
from pathlib import Path

from stackctl.settings import DEV_SECRETS, Settings

ROOT = Path(__file__).resolve().parents[2]


def example_values() -> dict[str, str]:
    values = {}
    for line in (ROOT / ".env.example").read_text().splitlines():
        if line and not line.startswith("#") and "=" in line:
            key, value = line.split("=", 1)
            values[key] = value
    return values


def test_env_example_documents_every_setting_with_its_default():
    example = example_values()
    fields = Settings.model_fields
    # STACK_ENV is chosen by --env / the environment, never by the file it selects.
    assert set(example) == {name.upper() for name in fields if name != "stack_env"}
    for name, field in fields.items():
        if name in DEV_SECRETS:
            assert example[name.upper()] == "change-me"  # a placeholder production refuses
        elif name != "stack_env":
            assert example[name.upper()] == str(field.default), name


def test_compose_defaults_match_settings():
    lines = [*(ROOT / "compose" / "compose.yaml").read_text().splitlines(),
             *(ROOT / "compose" / "compose.prod.yaml").read_text().splitlines()]
    text = "\n".join(line for line in lines if not line.lstrip().startswith("#"))
    defaults = dict(re.findall(r"\$\{([A-Z_]+):-([^}]*)\}", text))
    assert defaults, "compose.yaml should interpolate settings"
    for var, default in defaults.items():
        name = var.lower()
        expected = DEV_SECRETS.get(name, Settings.model_fields[name].default)
        assert default == str(expected), var
