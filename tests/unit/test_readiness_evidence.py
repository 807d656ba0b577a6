"""Readiness rests on evidence, named: a running container that shows nothing is running, never
ready; one that names a port is ready once it listens there (read from its own network namespace)."""

from dataclasses import replace

from stackctl.health import probes
from stackctl.health.gate import NO_EVIDENCE, State
from stackctl.health.service import observer
from stackctl.plan import ServiceSpec
from tests.unit.fakes import FakeEngine, container


def look(spec, info, engine=None, **listening):
    engine = engine or FakeEngine([info])
    engine.listening.update(listening)
    return observer(spec, engine, info.id)()


def test_a_container_that_names_no_port_and_has_no_healthcheck_is_running_without_evidence():
    seen = look(ServiceSpec("worker"), container("worker"))
    assert seen.state is State.READY and seen.evidence == NO_EVIDENCE and not seen.proven


def test_a_container_that_names_a_port_is_ready_only_once_it_listens_there():
    info = replace(container("api"), exposed=(3000,))
    waiting = look(ServiceSpec("api", exposes=(3000,)), info, **{"api-id": {9229}})
    assert waiting.state is State.PENDING and waiting.detail == "not listening on 3000 yet (it listens on 9229)"
    ready = look(ServiceSpec("api", exposes=(3000,)), info, **{"api-id": {9229, 3000}})
    assert ready.proven and ready.evidence == "listening 3000"


def test_a_port_only_its_image_exposes_is_waited_for_briefly_then_it_is_only_running():
    from datetime import datetime, timedelta, timezone

    worker = replace(container("worker"), exposed=(8000,))  # a worker on the API's image inherits its EXPOSE
    just = replace(worker, started_at=datetime.now(timezone.utc))
    assert look(ServiceSpec("worker"), just, **{"worker-id": set()}).state is State.PENDING
    later = replace(worker, started_at=datetime.now(timezone.utc) - timedelta(seconds=30))
    seen = look(ServiceSpec("worker"), later, **{"worker-id": set()})
    assert seen.state is State.READY and not seen.proven and "which its image EXPOSEs" in seen.detail


def test_the_role_port_comes_first_and_a_frontend_that_listens_nowhere_is_not_ready():
    web = replace(container("web"), exposed=(80,))
    assert look(ServiceSpec("web", exposes=(80,)), web, **{"web-id": set()}).state is State.PENDING
    api = replace(container("api"), exposed=(3000,))
    assert look(ServiceSpec("api", port=8000), api, **{"api-id": {8000}}).evidence == "listening 8000"


def test_listening_that_cannot_be_read_is_said_not_taken_for_ready():
    info = replace(container("api"), exposed=(3000,))
    seen = look(ServiceSpec("api"), info)  # the fake has no table for it: None, as with no /proc and no cat
    assert seen.evidence == NO_EVIDENCE and "cannot be read here" in seen.detail


def test_an_unpublished_http_app_is_asked_at_its_own_address(monkeypatch):
    asked = []
    monkeypatch.setattr(probes, "http", lambda url, any_answer=False: asked.append(url) or
                        probes.Observation.ready("HTTP 200"))
    info = replace(container("api"), exposed=(8000,), ips=("172.18.0.5",))
    seen = look(ServiceSpec("api", probe="http:/health", port=8000), info)
    assert asked == ["http://172.18.0.5:8000/health"] and seen.evidence == "http /health"


def test_a_healthcheck_run_now_is_the_evidence_and_a_oneshot_rests_on_its_exit():
    from stackctl.containers import ExecResult

    info = replace(container("api"), healthcheck=("CMD", "check"))
    engine = FakeEngine([info], exec_handler=lambda cid, cmd, env: ExecResult(0, "ok\n", ""))
    assert look(ServiceSpec("api", has_healthcheck=True), info, engine).evidence == "healthcheck"
    done = replace(container("migrate"), state="exited", exit_code=0)
    assert look(ServiceSpec("migrate", oneshot=True), done).evidence == "exited 0"


def test_listeners_are_read_from_proc_net_tcp_without_the_engines_own_resolver():
    from stackctl.engine import listening_in

    table = ("  sl  local_address rem_address   st\n"
             "   0: 0B00007F:8A3B 00000000:0000 0A 00000000:00000000\n"  # 127.0.0.11:35387, the engine's DNS
             "   1: 00000000:1F40 00000000:0000 0A 00000000:00000000\n"  # 0.0.0.0:8000, listening
             "   2: 0100007F:1F90 0100007F:C350 01 00000000:00000000\n")  # an established connection
    assert listening_in(table) == {8000}


def test_a_probe_that_met_a_container_on_its_way_out_says_stopped_not_unhealthy(tmp_path):
    """monitor looked at api as it was killed: the container still ran when listed, its probe was
    refused; asked again it has exited, and that is what is said."""
    from dataclasses import replace as changed

    from stackctl.health.gate import Observation, State
    from stackctl.service_state import ServiceState, classify
    from stackctl.status import settled
    from types import SimpleNamespace

    from tests.unit.fakes import FakeEngine, container

    listed = {"api": container("api"), "web": container("web"), "worker": container("worker")}
    engine = FakeEngine([changed(listed["api"], state="exited"), listed["web"]])  # worker removed meanwhile
    stack = SimpleNamespace(engine=engine)
    looks = {"api": Observation(State.PENDING, "connection refused"), "web": Observation(State.PENDING, "HTTP 502"),
             "worker": Observation(State.PENDING, "connection refused")}
    now = settled(stack, listed, looks, pause=0)
    assert classify(False, now.get("api"), looks.get("api")) is ServiceState.STOPPED
    assert classify(False, now.get("web"), looks.get("web")) is ServiceState.UNHEALTHY  # still running: unhealthy
    assert classify(False, now.get("worker"), looks.get("worker")) is ServiceState.ABSENT
    assert listed["api"].state == "running"  # the caller's listing is left as it was
