"""stackctl.build.dockerignore: docker-py's .dockerignore matcher without docker-py's package init,
the same answers as the SDK's own module, and a later `import docker` that loads the real package."""

import subprocess
import sys

SCRIPT = r"""
import sys, tempfile, pathlib
root = pathlib.Path(tempfile.mkdtemp())
for rel in ("app/main.py", "app/cache/x.pyc", "node_modules/a/index.js", "keep/node_modules/b.js", "README.md",
            "Dockerfile", "docs/guide.md", "docs/keep.md"):
    (root / rel).parent.mkdir(parents=True, exist_ok=True)
    (root / rel).write_text("x")
patterns = ["node_modules", "**/*.pyc", "docs", "!docs/keep.md", "*.md", "!README.md"]
from stackctl.build import dockerignore
light = dockerignore()
assert "docker" not in sys.modules and not any(m.startswith("docker.") for m in sys.modules), sorted(sys.modules)
ours = sorted(light.exclude_paths(str(root), patterns, dockerfile="Dockerfile"))
import docker
assert docker.APIClient and docker.utils.build is not light
theirs = sorted(docker.utils.build.exclude_paths(str(root), patterns, dockerfile="Dockerfile"))
assert ours == theirs, (ours, theirs)
assert "app/main.py" in ours and "docs/keep.md" in ours and "README.md" in ours and "node_modules/a/index.js" not in ours
assert dockerignore() is docker.utils.build
print("ok")
"""


def test_the_matcher_loads_alone_answers_as_the_sdks_and_leaves_the_sdk_to_load_untouched():
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr


WHALES = r"""
import sys
from stackctl.compose import _whales
from stackctl.failures import translatable
whales = _whales()
assert not any(m == "python_on_whales" or m.startswith("python_on_whales.") for m in sys.modules), sorted(sys.modules)
assert whales.run(["sh", "-c", "echo hi"]).strip() == "hi"
try:
    whales.run(["sh", "-c", "echo broken >&2; exit 3"], capture_stderr=True)
    raise SystemExit("no exception")
except whales.DockerException as exc:
    assert exc.return_code == 3 and "broken" in exc.stderr and translatable(exc)
import python_on_whales
assert python_on_whales.DockerClient and python_on_whales.utils is not whales
assert _whales() is python_on_whales.utils
print("ok")
"""


def test_python_on_whales_runner_loads_alone_raises_its_own_error_and_leaves_the_package_untouched():
    out = subprocess.run([sys.executable, "-c", WHALES], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr
