"""`stackctl ci init`: the workflows pass the linters their CI uses, name secrets without values,
and leave the user's files alone."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from stackctl.errors import StackError
from stackctl import pipeline
from stackctl.pipeline import propose, write

TOOLS = Path(sys.executable).parent


def test_the_github_workflow_passes_actionlint(tmp_path):
    (tmp_path / "Makefile").write_text("test:\n\tpytest\n")
    proposal = propose(tmp_path, "github", "ghcr.io/acme/shop", None)
    write(proposal)
    out = subprocess.run([str(TOOLS / "actionlint"), str(proposal.path)], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    assert proposal.path == tmp_path / ".github" / "workflows" / "stackctl.yml"
    for step in ("make test", "stackctl build --push --json", "deploy --release", "stackctl --env staging doctor",
                 "stackctl promote --from staging --to production", "environment: production"):
        assert step in proposal.text, step


def test_the_gitlab_pipeline_passes_gitlabs_schema(tmp_path):
    (tmp_path / "package.json").write_text(json.dumps({"scripts": {"test": "vitest run"}}))
    proposal = propose(tmp_path, "gitlab", "registry.gitlab.com/acme/shop", None)
    write(proposal)
    out = subprocess.run([str(TOOLS / "check-jsonschema"), "--builtin-schema", "vendor.gitlab-ci", str(proposal.path)],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    assert '"npm ci && npm test"' in proposal.text and "when: manual" in proposal.text


@pytest.mark.parametrize("kind", ["github", "gitlab"])
def test_secrets_are_named_never_written(tmp_path, kind):
    text = propose(tmp_path, kind, "ghcr.io/acme", "pytest").text
    assert "REGISTRY_PASSWORD" in text and "ENV_PRODUCTION" in text and "DEPLOY_SSH_KEY" in text
    logins = [line for line in text.splitlines() if "docker login" in line]
    assert logins and all('"$REGISTRY_PASSWORD" | docker login' in line and line.endswith("--password-stdin")
                          for line in logins)  # a password never rides in an argument


def test_a_test_command_with_yaml_characters_stays_one_command(tmp_path):
    text = propose(tmp_path, "github", "ghcr.io/acme", 'pytest -k "not slow" # fast: only').text
    assert 'run: "pytest -k \\"not slow\\" # fast: only"' in text


def test_an_existing_workflow_is_left_as_it_is(tmp_path):
    path = tmp_path / ".gitlab-ci.yml"
    path.write_text("# ours\n")
    proposal = propose(tmp_path, "gitlab", "ghcr.io/acme", None)
    assert proposal.existing and path.read_text() == "# ours\n"


def test_no_registry_or_no_test_command_is_one_line_saying_what_to_do(tmp_path):
    with pytest.raises(StackError, match="no registry is set"):
        propose(tmp_path, "github", None, "pytest")
    with pytest.raises(StackError, match="no test command found") as caught:
        propose(tmp_path, "github", "ghcr.io/acme", None)
    assert "--test-command" in caught.value.hint
    assert pipeline.test_command(tmp_path) is None
