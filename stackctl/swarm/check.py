"""`stackctl --target swarm check`: what would stop a swarm `up`, beside the engine, env and
resource checks every target gets: a manager to deploy from, nodes ready, one node for the data,
the secrets readable, and the host ports the proxy publishes free on this node."""

from __future__ import annotations

from stackctl import ports as portlib
from stackctl.errors import StackError
from stackctl.preflight import Check
from stackctl.stack import Stack
from stackctl.swarm import secrets
from stackctl.swarm.stackfile import data_label


def swarm_checks(stack: Stack, engine) -> list[Check]:
    if engine is None:
        return [Check("swarm", False, "not checked: the engine does not answer", "see the engine check")]
    state = engine.swarm()
    if state.get("LocalNodeState") != "active":
        return [Check("swarm", False, "this engine is not part of a swarm",
                      "docker swarm init --advertise-addr <this host's address>")]
    if not state.get("ControlAvailable"):
        return [Check("swarm", False, "this engine is a worker", "point stackctl at a manager (--host / DOCKER_HOST)")]
    nodes = engine.swarm_nodes()
    down = [n["Description"]["Hostname"] for n in nodes if n["Status"]["State"] != "ready"
            or n["Spec"].get("Availability") != "active"]
    checks = [Check("swarm", True, f"a manager of a swarm of {len(nodes)} node(s)"),
              Check("nodes", not down, f"not ready or not active: {', '.join(down)}" if down else "all ready",
                    "docker node ls; bring them back or docker node rm them" if down else "")]
    key = data_label(stack.name)
    labelled = [n["Description"]["Hostname"] for n in nodes if (n["Spec"].get("Labels") or {}).get(key) == "true"]
    if len(labelled) > 1:
        checks.append(Check("data node", False, f"{len(labelled)} nodes carry {key}: {', '.join(labelled)}",
                            f"keep one: docker node update --label-rm {key} <node>"))
    else:
        checks.append(Check("data node", True, f"{labelled[0]} keeps the data" if labelled
                            else "none yet: the first up labels this manager"))
    try:
        found = secrets.of_stack(stack)
        checks.append(Check("docker secrets", True, f"{len(found)} compose secrets to keep as docker secrets"))
    except StackError as exc:
        checks.append(Check("docker secrets", False, exc.message, exc.hint or ""))
    return checks + _ports(stack, engine)


def _ports(stack: Stack, engine) -> list[Check]:
    """Host ports a swarm stack publishes (the proxy's; data services and apps publish none)."""
    from stackctl.swarm.deploy import render_file
    from stackctl.swarm.stackfile import SwarmChoices

    document, _ = render_file(stack, SwarmChoices(secrets={n: n for n in stack.config.get("secrets") or {}}))
    running = engine.running_summaries()
    checks = []
    for service, spec in sorted(document["services"].items()):
        for port in (p["published"] for p in spec.get("ports", [])):
            holder = portlib.container_holding(port, running)
            if holder and holder.container_project == stack.name:
                checks.append(Check(f"port {port}", True, f"{service} publishes {port}: in use by this stack"))
            elif engine.remote and holder is None:  # a local bind says nothing about the nodes
                checks.append(Check(f"port {port}", True, f"{service} publishes {port} (host mode): no container "
                                    "on the manager publishes it (other processes and nodes not checked)"))
            elif not engine.remote and portlib.is_free("0.0.0.0", port):
                checks.append(Check(f"port {port}", True, f"{service} publishes {port} (host mode): free"))
            else:
                holder = holder or portlib.process_holding(port) or portlib.PortHolder("an unknown process")
                checks.append(Check(f"port {port}", False, f"{service} publishes {port}: taken by {holder.description}",
                                    f"stop it, or give {service} another port (the variable in your env file)"))
    return checks
