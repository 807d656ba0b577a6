"""A scratch copy of the project set up as a production stack, for the benches that deploy."""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import time
from pathlib import Path

from run import PY, copy_project, free_ports


class ProdProject:
    """`.env.production` with fresh passwords and free ports; images named stackctl-bench/<tag>-*."""

    def __init__(self, tag: str, extra: str = ""):
        self.tag = tag
        self.root = copy_project(f"stackctl-bench-{tag}-")
        self.ports, self.https = free_ports(), free_ports()["HTTP_PORT"]
        self.env_file = self.root / ".env.production"
        self.env_file.write_text(
            f"STACK_NAME=bench{tag}\nHTTP_PORT={self.ports['HTTP_PORT']}\nHTTPS_PORT={self.https}\n"
            f"POSTGRES_PORT={self.ports['POSTGRES_PORT']}\nREDIS_PORT={self.ports['REDIS_PORT']}\n"
            f"POSTGRES_PASSWORD={secrets.token_hex(16)}\nREDIS_PASSWORD={secrets.token_hex(16)}\n{extra}"
            f"API_IMAGE=stackctl-bench/{tag}-api:dev\nWEB_IMAGE=stackctl-bench/{tag}-web:dev\n")
        self.env = {**os.environ, "STACKCTL_PROJECT_DIR": str(self.root), "CI": "1"}

    @property
    def api_source(self) -> Path:
        return self.root / "images" / "backend" / "app" / "__init__.py"

    def stackctl(self, *args: str) -> float:
        """Run it; its duration in seconds (a failure ends the bench with stackctl's own words)."""
        start = time.perf_counter()
        out = subprocess.run([PY, "-m", "stackctl", *args], env=self.env, capture_output=True, text=True)
        if out.returncode != 0:
            raise SystemExit(f"stackctl {' '.join(args)} failed:\n{out.stderr}")
        return time.perf_counter() - start

    def remove(self) -> None:
        """The stack, its volumes, its images and the copy."""
        subprocess.run([PY, "-m", "stackctl", "--env", "production", "down", "--volumes", "--yes"], env=self.env,
                       capture_output=True)
        images = subprocess.run(["docker", "images", "-q", "--filter", f"reference=stackctl-bench/{self.tag}-*"],
                                capture_output=True, text=True).stdout.split()
        if images:
            subprocess.run(["docker", "rmi", "-f", *images], capture_output=True)
        shutil.rmtree(self.root, ignore_errors=True)
