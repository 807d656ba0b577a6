"""Whether `docker compose up --no-start` would leave a phase's containers as they are, so that
a no-op `up` need not run it (two compose processes, ~0.5 s, and python-on-whales' import).

After compose created or kept a service's container, stackctl records what compose decided from
(`.stackctl/converged-<env>.json`, no values): the digest of every input of the compose model,
the create command's flags and environment, the docker CLI's and compose's files, the container's id and the
image id it runs. Compose recreates a container when its configuration's hash or its image
changed; both follow from those inputs. The record is trusted only if all of it still holds,
every long-lived container of the phase is running, and each image reference still names the
image its container runs (a rebuild or a pull moves it). Anything else runs compose, as before.
Files copied in at start (secrets, configs) are `injected`'s concern and checked before this.
"""

from __future__ import annotations

import hashlib
import json

from stackctl.containers import ContainerInfo
from stackctl.plan import closure

FILE = "converged-{env}.json"


def _path(stack):
    return stack.project.state_dir / FILE.format(env=stack.project.env)


def _inputs(stack) -> str:
    from stackctl.compose import _install_key

    command = str(stack.compose.create_command([]))  # its flags and environment
    return hashlib.sha256(f"{stack.model_key}\0{command}\0{_install_key()}".encode()).hexdigest()


def _load(stack) -> dict:
    try:
        data = json.loads(_path(stack).read_text())
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def record(stack, services: list[str], containers: dict[str, ContainerInfo]) -> None:
    """Compose has just converged `services` (and what they depend on): what it decided from."""
    inputs = _inputs(stack)
    data = _load(stack)
    for name in closure(stack.model, services):
        info = containers.get(name)
        if info is None:
            data.pop(name, None)
        else:
            data[name] = {"inputs": inputs, "container": info.id, "image": info.image_id}
    try:
        from stackctl.statefiles import write_private

        write_private(_path(stack), json.dumps(data, sort_keys=True))
    except OSError:
        pass  # a read-only project still works, just runs compose each time


def unchanged(stack, services: list[str], containers: dict[str, ContainerInfo]) -> bool:
    """Compose would keep every container of `services` as it is (and none is missing)."""
    data = _load(stack)
    if not services or not data:
        return False
    inputs = _inputs(stack)
    services = closure(stack.model, services)  # compose converges what they depend on too
    for name in services:
        info, seen = containers.get(name), data.get(name)
        if info is None or seen != {"inputs": inputs, "container": info.id, "image": info.image_id}:
            return False
        if not stack.model.services[name].oneshot and info.state != "running":
            return False
    images = {stack.model.services[name].image for name in services}
    current = {ref: stack.engine.image_id(ref) for ref in images if ref}
    return all(current.get(stack.model.services[name].image) == containers[name].image_id for name in services)
