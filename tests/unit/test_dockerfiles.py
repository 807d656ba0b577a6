"""Every Dockerfile we ship passes hadolint (a linter nobody here wrote), infos included."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = sorted([*ROOT.glob("images/*/Dockerfile"), *ROOT.glob("examples/*/*/Dockerfile")])


@pytest.mark.parametrize("dockerfile", SHIPPED, ids=lambda p: str(p.relative_to(ROOT)))
def test_hadolint_finds_nothing(dockerfile):
    binary = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
    out = subprocess.run([binary, "--failure-threshold", "info", str(dockerfile)], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr


def test_there_are_dockerfiles_to_lint():
    assert len(SHIPPED) >= 5
