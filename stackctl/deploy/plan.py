"""What deploy and rollback will do, as data: a pure function of the compose model (roles) and
what was observed (is an app serving, which release serves), compared as text in unit tests and
printed by `--dry-run`. The executor (stackctl.deploy.deploy) follows the steps in order.
"""

from __future__ import annotations

from stackctl.plan import StackModel, start_order
from stackctl.steps import Step  # actions: check | leftovers | build | pull | first-start | backup | migrate | rollout |
#                                   recreate | replace | switch | converge | verify | record


def recreate_reason(model: StackModel, app: str) -> str | None:
    """Why an app cannot run old and new containers side by side, or None when it can."""
    published = model.services[app].published
    if published:
        return f"it publishes host port {published[0][1]}, which one container at a time can hold"
    proxy = model.one("proxy")
    if app == model.upstream and proxy and model.switch != "include":
        return f"the proxy does not meet the switch contract (stackctl.yaml proxy.switch); {proxy} is restarted after it"
    return None


def the_rest(model: StackModel) -> list[str]:
    """The long-running services a release switch does not roll: the database, the cache and every
    service without a role (a production nginx the overlay adds, say)."""
    proxy = model.one("proxy")
    return [n for n in model.names() if not model.services[n].oneshot and n != proxy
            and model.services[n].role != "app"]


def switch_steps(model: StackModel, release: str) -> list[Step]:
    """Putting a release in service: each app, dependencies first, then the proxy, then the rest."""
    steps = []
    proxy = model.one("proxy")
    for app in start_order(model, model.with_role("app")):
        why = recreate_reason(model, app)
        if model.one("edge") and not proxy:  # the edge forwards to the one app itself
            steps.append(Step("switch", app, "if its image or configuration changed: a new container beside the old "
                                             "one, taken in by the edge, the old one drained there (no port handed over)"))
        elif why:
            steps.append(Step("recreate", app, why))
        elif app == model.upstream and model.one("proxy"):
            steps.append(Step("rollout", app, f"beside the serving containers, then {model.one('proxy')} switched to it"))
        else:
            steps.append(Step("rollout", app, "beside the serving containers"))
    if proxy and model.one("edge"):
        steps.append(Step("switch", proxy, "if its image or configuration changed: a new container beside the old one, "
                                           "taken in by the edge, the old one drained there (no port handed over)"))
    elif proxy:
        steps.append(Step("replace", proxy, "if its image or a file it reads changed: its host ports handed from the old "
                                            "container to a new one "
                                            "(a brief gap, reported); the apps are not touched"))
    rest = the_rest(model)
    if rest:
        steps.append(Step("converge", ", ".join(rest), "created or recreated where the release changes them, as compose "
                                                        "decides, each gated on its evidence; the others untouched"))
    return steps


def built(model: StackModel) -> list[str]:
    """The services named in the build step: one per image, as stackctl.build names them."""
    from stackctl.build import targets

    return sorted(t.service for t in targets(model, list(model.services)))


def deploy_steps(model: StackModel, release: str, serving: bool, previous: str | None,
                 held_by: str | None = None, lock_wait: float = 0, pulled: str | None = None) -> list[Step]:
    """`held_by`: who holds the stack's lock now (dry-run only; a deploy holds it itself);
    `pulled`: the release was shipped through a registry (deploy --release): what is pulled, and
    nothing is built."""
    fallback = (f"on failure: back to {previous}, verified the same way" if previous
                else "on failure: nothing to return to")
    verify = "each service runs the release's image (by image id) and shows it serves; every endpoint, 5 tries each"
    steps = [Step("check", "the target"),
             Step("pull", pulled, "the images the engine lacks; nothing is built") if pulled else
             Step("build", ", ".join(built(model)) or "nothing (every image is pulled)", f"images tagged {release}")]
    if held_by:
        wait = (f"up to {lock_wait:.0f}s (STACKCTL_LOCK_WAIT), then stop with nothing changed" if lock_wait
                else "stop at once with nothing changed (or wait: STACKCTL_LOCK_WAIT=SECONDS)")
        steps.insert(0, Step("wait", "for the lock", f"held by {held_by}: {wait}"))
    if not serving:
        return steps + [Step("first-start", "every service", "in dependency order, gated on health"),
                        Step("verify", "every service", verify), Step("record", release)]
    rolled = [a for a in model.with_role("app")] + ([model.one("proxy")] if model.one("proxy") else [])
    steps.insert(len(steps) - 1, Step("leftovers", ", ".join(rolled), "containers an interrupted deploy left beside "
                                      "the serving ones: removed, or refused with their names"))
    database, migrate = model.one("database"), model.one("migrate")
    if database:
        steps.append(Step("backup", database, "before migrations"))
    if migrate:
        steps.append(Step("migrate", migrate, f"with the images of {release}; on failure {previous or 'nothing'} "
                                              "still serves"))
    steps += [s if s.action != "rollout" else Step(s.action, s.target, s.detail + " once healthy; a release that "
                                                   "never gets healthy takes no request")
              for s in switch_steps(model, release)]
    return steps + [Step("verify", "every service", f"{verify}; {fallback}"), Step("record", release)]


def rollback_steps(model: StackModel, release: str, current: str) -> list[Step]:
    verify = "each service runs the release's image (by image id) and shows it serves; every endpoint, 5 tries each"
    return ([*switch_steps(model, release), Step("record", release, f"in place of {current}"),
             Step("verify", "every service", verify)])
