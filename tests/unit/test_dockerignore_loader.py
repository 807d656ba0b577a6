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
