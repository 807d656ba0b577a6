"""`stackctl ci init github|gitlab`: the pipeline our users describe, as a workflow in their repo.

On a push to the main branch: the project's own tests -> `build --push` (the images built once,
pushed, their digests kept) -> `deploy --env staging --release ID` -> smoke checks (`doctor`) ->
a manual approval -> `promote --from staging --to production` (the digests that run in staging).
Secrets are named, never written: the registry login, the ssh key that reaches the engines, and
each environment's env file (.env.staging, .env.production) come from the CI's secret store.
Nothing else of the user's is touched; the file is shown before it is written, like `init`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from stackctl.errors import EXIT_USAGE, StackError

PATHS = {"github": Path(".github/workflows/stackctl.yml"), "gitlab": Path(".gitlab-ci.yml")}


@dataclass(frozen=True)
class Proposal:
    path: Path
    text: str
    existing: bool  # a file is there already: left as it is

    def to_dict(self) -> dict:
        return {"path": str(self.path), "text": self.text, "existing": self.existing}


def test_command(root: Path) -> str | None:
    """The project's own test command, where its files say it plainly."""
    for script in ("scripts/test.sh", "test.sh"):  # the user's own test script (a path in their repository)
        if (root / script).is_file():
            return f"bash {script}"
    makefile = root / "Makefile"
    if makefile.is_file() and re.search(r"^test\s*:", makefile.read_text(errors="replace"), re.M):
        return "make test"
    package = root / "package.json"
    if package.is_file():
        try:
            if (json.loads(package.read_text()).get("scripts") or {}).get("test"):
                return "npm ci && npm test"
        except ValueError:
            pass
    if (root / "pytest.ini").is_file() or "[tool.pytest" in _text(root / "pyproject.toml"):
        return "python -m pip install -e '.[test]' && python -m pytest"
    return None


def _text(path: Path) -> str:
    return path.read_text(errors="replace") if path.is_file() else ""


def install_line() -> str:
    """pip's requirement for this stackctl: its version when it is a release, else the newest."""
    from stackctl import __version__

    return f"stackctl=={__version__}" if re.fullmatch(r"\d+\.\d+\.\d+", __version__) else "stackctl"


def propose(root: Path, kind: str, registry: str | None, test: str | None) -> Proposal:
    if registry is None:
        raise StackError("no registry is set: the pipeline pushes the images to one",
                         "add registry: HOST[:PORT]/NAMESPACE to stackctl.yaml (or set STACKCTL_REGISTRY) first", EXIT_USAGE)
    path = root / PATHS[kind]
    if path.exists():
        return Proposal(path, path.read_text(errors="replace"), True)
    test = test or test_command(root)
    if not test:
        raise StackError("no test command found (scripts/test.sh, a Makefile test target, package.json's test "
                         "script, pytest)", "name it: stackctl ci init " + kind + " --test-command 'COMMAND'",
                         EXIT_USAGE)
    text = (github if kind == "github" else gitlab)(registry.split("/")[0], test, install_line())
    return Proposal(path, text, False)


def write(proposal: Proposal) -> None:
    proposal.path.parent.mkdir(parents=True, exist_ok=True)
    proposal.path.write_text(proposal.text)


def github(registry_host: str, test: str, install: str) -> str:
    return f"""# Written by stackctl ci init github. Build once, ship the same bytes to staging and production.
# Set in the repository's settings (names only here, never values):
#   secrets: REGISTRY_USERNAME, REGISTRY_PASSWORD (push and pull at {registry_host}),
#            DEPLOY_SSH_KEY (reaches the engines), ENV_STAGING, ENV_PRODUCTION (each environment's env file)
#   variables: STAGING_HOST, PRODUCTION_HOST (ssh://user@host), SSH_KNOWN_HOSTS (their host keys)
#   environments: staging, and production with required reviewers (the manual approval)
name: stackctl
on:
  push:
    branches: [main]
  workflow_dispatch:
permissions:
  contents: read
concurrency:
  group: stackctl-deploy
  cancel-in-progress: false
env:
  STACKCTL_INSTALL: "{install}"
jobs:
  test:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v5
      - name: The project's tests
        run: {json.dumps(test)}

  build:
    needs: test
    runs-on: ubuntu-latest
    outputs:
      release: ${{{{ steps.push.outputs.release }}}}
    steps:
      - uses: actions/checkout@v5
      - uses: actions/setup-python@v6
        with:
          python-version: "3.11"
      - run: python -m pip install "$STACKCTL_INSTALL"
      - name: Log in to the registry
        env:
          REGISTRY_USERNAME: ${{{{ secrets.REGISTRY_USERNAME }}}}
          REGISTRY_PASSWORD: ${{{{ secrets.REGISTRY_PASSWORD }}}}
        run: printf '%s' "$REGISTRY_PASSWORD" | docker login {registry_host} -u "$REGISTRY_USERNAME" --password-stdin
      - name: Build once and push (each image's digest recorded)
        id: push
        run: |
          stackctl build --push --json > pushed.json
          release=$(python -c 'import json; print(json.load(open("pushed.json"))["result"]["release"])')
          echo "release=$release" >> "$GITHUB_OUTPUT"

  staging:
    needs: build
    runs-on: ubuntu-latest
    environment: staging
    env:
      DOCKER_HOST: ${{{{ vars.STAGING_HOST }}}}
    steps:
{_github_access(registry_host, "staging")}
      - name: Deploy the pushed release by digest
        run: stackctl --env staging deploy --release "${{{{ needs.build.outputs.release }}}}"
      - name: Smoke checks
        run: stackctl --env staging doctor

  production:
    needs: [build, staging]
    runs-on: ubuntu-latest
    environment: production
    steps:
{_github_access(registry_host, "staging", "production")}
      - name: Promote what runs and verifies in staging
        run: >-
          stackctl promote --from staging --to production
          --from-host "${{{{ vars.STAGING_HOST }}}}" --to-host "${{{{ vars.PRODUCTION_HOST }}}}"
"""


def _github_access(registry_host: str, *envs: str) -> str:
    """A deploying job's first steps: stackctl installed, the ssh key and known hosts, each
    environment's env file from its secret, the registry login (passwords on stdin only)."""
    secrets = "".join(f"\n          ENV_{env.upper()}: ${{{{ secrets.ENV_{env.upper()} }}}}" for env in envs)
    files = "".join(f"\n          printf '%s\\n' \"$ENV_{env.upper()}\" > .env.{env}" for env in envs)
    return f"""      - uses: actions/checkout@v5
      - uses: actions/setup-python@v6
        with:
          python-version: "3.11"
      - run: python -m pip install "$STACKCTL_INSTALL"
      - name: Access
        env:
          DEPLOY_SSH_KEY: ${{{{ secrets.DEPLOY_SSH_KEY }}}}
          SSH_KNOWN_HOSTS: ${{{{ vars.SSH_KNOWN_HOSTS }}}}{secrets}
          REGISTRY_USERNAME: ${{{{ secrets.REGISTRY_USERNAME }}}}
          REGISTRY_PASSWORD: ${{{{ secrets.REGISTRY_PASSWORD }}}}
        run: |
          umask 077
          mkdir -p ~/.ssh
          printf '%s\\n' "$DEPLOY_SSH_KEY" > ~/.ssh/id_ed25519
          printf '%s\\n' "$SSH_KNOWN_HOSTS" > ~/.ssh/known_hosts{files}
          printf '%s' "$REGISTRY_PASSWORD" | docker login {registry_host} -u "$REGISTRY_USERNAME" --password-stdin"""


def gitlab(registry_host: str, test: str, install: str) -> str:
    return f"""# Written by stackctl ci init gitlab. Build once, ship the same bytes to staging and production.
# Set in Settings > CI/CD > Variables (names only here, never values; masked and protected):
#   REGISTRY_USERNAME, REGISTRY_PASSWORD (push and pull at {registry_host}), DEPLOY_SSH_KEY (a file
#   variable: reaches the engines), SSH_KNOWN_HOSTS, ENV_STAGING and ENV_PRODUCTION (file variables:
#   each environment's env file), STAGING_HOST and PRODUCTION_HOST (ssh://user@host)
stages: [test, build, staging, production]

variables:
  STACKCTL_INSTALL: "{install}"

.stackctl:
  image: docker:27
  services: ["docker:27-dind"]
  variables:
    DOCKER_TLS_CERTDIR: "/certs"
  before_script:
    - apk add --no-cache python3 py3-pip openssh-client
    - python3 -m pip install --break-system-packages "$STACKCTL_INSTALL"
    - printf '%s' "$REGISTRY_PASSWORD" | docker login {registry_host} -u "$REGISTRY_USERNAME" --password-stdin
    - umask 077 && mkdir -p ~/.ssh && cp "$DEPLOY_SSH_KEY" ~/.ssh/id_ed25519 && printf '%s\\n' "$SSH_KNOWN_HOSTS" > ~/.ssh/known_hosts

test:
  stage: test
  script:
    - {json.dumps(test)}
  rules:
    - if: $CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH

build:
  extends: .stackctl
  stage: build
  script:
    - stackctl build --push --json > pushed.json
    - python3 -c 'import json; print("RELEASE=" + json.load(open("pushed.json"))["result"]["release"])' > release.env
  artifacts:
    reports:
      dotenv: release.env
  rules:
    - if: $CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH

deploy-staging:
  extends: .stackctl
  stage: staging
  environment:
    name: staging
  script:
    - cp "$ENV_STAGING" .env.staging
    - DOCKER_HOST="$STAGING_HOST" stackctl --env staging deploy --release "$RELEASE"
    - DOCKER_HOST="$STAGING_HOST" stackctl --env staging doctor
  rules:
    - if: $CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH

promote-production:
  extends: .stackctl
  stage: production
  environment:
    name: production
  script:
    - cp "$ENV_STAGING" .env.staging && cp "$ENV_PRODUCTION" .env.production
    - stackctl promote --from staging --to production --from-host "$STAGING_HOST" --to-host "$PRODUCTION_HOST"
  rules:
    - if: $CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH
      when: manual
"""
