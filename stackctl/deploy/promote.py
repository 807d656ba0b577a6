"""`stackctl promote`: the release that runs and verifies in one environment (staging), deployed by
digest to another (production): the bytes that were tested are the bytes that serve.

What runs in the source environment is read from its engine, not from a file on this machine (a
CI job that promotes did not deploy staging itself): each built service's running containers, the
digest they were created from and the release they carry (stackctl.release). Refused, with
nothing changed, when one runs an image that was not shipped through a registry (built on its own
engine: there is no digest to promote), when the services run different releases, when this
machine's record of the environment names other images, or when it does not verify now (each
service on the release's image by image id, with evidence; every endpoint answering).
"""

from __future__ import annotations

from stackctl.deploy import releases
from stackctl.errors import EXIT_FAILED, EXIT_USAGE, StackError
from stackctl.registry import is_digest
from stackctl.report import Reporter
from stackctl.stack import Stack


def running_shipped(source: Stack) -> releases.Deployed:
    """The release the source environment's engine runs, by digest, as its containers say."""
    env = source.project.env
    built = sorted(n for n, spec in source.model.services.items() if spec.build)
    images, ids, missing, local = {}, set(), [], []
    for name in built:
        running = source.engine.service_containers(source.name, name, running_only=True)
        if not running:
            missing.append(name)
            continue
        refs = {c.image for c in running}
        if len(refs) != 1 or not is_digest(next(iter(refs))):
            local.append(name)
            continue
        images[name] = next(iter(refs))
        ids |= {c.labels.get(releases.RELEASE_LABEL, "") for c in running}
    if missing:
        raise StackError(f"{env} runs no {', '.join(missing)}: nothing promoted", f"stackctl --env {env} status",
                         EXIT_FAILED)
    if local:
        raise StackError(f"{env} runs {', '.join(local)} from images built on its own engine, not shipped by digest: "
                         "no shipped bytes to promote", f"stackctl build --push, then stackctl --env {env} deploy "
                         "--release ID, then promote", EXIT_USAGE)
    recorded = releases.read_deployed(source.project)
    if ids == {""} and recorded is not None and all(recorded.images.get(n) == ref for n, ref in images.items()):
        ids = {recorded.release}  # containers made before they carried the label: this machine's record names them
    if len(ids) != 1 or not releases.RELEASE_TAG.match(next(iter(ids))):
        raise StackError(f"{env}'s services run different releases ({', '.join(sorted(i or '?' for i in ids))}): "
                         "nothing promoted", f"deploy one release to {env} (stackctl --env {env} deploy --release ID)",
                         EXIT_USAGE)
    return releases.Deployed(next(iter(ids)), images, labelled=tuple(built))


def promote(source: Stack, goal: Stack, *, report: Reporter, timeout: float | None = None):
    from stackctl.deploy.deploy import deploy, stack_for
    from stackctl.deploy.verify import verify_release

    env = source.project.env
    report.phase(f"reading what {env} runs")
    current = running_shipped(source)
    recorded = releases.read_deployed(source.project)
    if recorded is not None and recorded.release == current.release and \
            any(recorded.images.get(n) != ref for n, ref in current.images.items()):
        raise StackError(f"{env} runs other images than its record of release {current.release} says: nothing "
                         "promoted", f"stackctl --env {env} releases; deploy it again", EXIT_FAILED)
    report.phase(f"verifying {env} before promoting it")
    seen = verify_release(stack_for(source, current), report)
    if not seen.ok:
        raise StackError(f"{env} does not verify, nothing promoted: {'; '.join(seen.problems)}",
                         f"stackctl --env {env} doctor", EXIT_FAILED)
    report.note(f"{env} runs release {current.release} and verifies ({seen.said()}): promoting its digests")
    from dataclasses import replace

    result = deploy(goal, report=report, timeout=timeout, release=current.release, images=dict(current.images))
    return replace(result, action="promote", promoted_from=f"{env} (verified there: {seen.said()})")
