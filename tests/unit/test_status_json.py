"""The result `status --json` carries in its envelope is a contract: scripts depend on these keys and types."""

from datetime import datetime, timedelta, timezone

from stackctl.containers import container_from_inspect, uptime_seconds
from stackctl.service_state import ServiceState
from stackctl.status import ServiceStatus, StatusReport
from stackctl.health.service import EndpointResult

INSPECT = {
    "Id": "abc", "Name": "/s-db-1", "Image": "sha256:img",
    "State": {"Status": "running", "Running": True, "Pid": 42, "ExitCode": 0,
              "StartedAt": "2026-11-22T01:00:00.123456789Z",
              "Health": {"Status": "healthy", "Log": [{"Output": "ok\n"}]}},
    "Config": {"Labels": {"com.docker.compose.service": "db", "com.docker.compose.project": "s"}},
    "NetworkSettings": {"Ports": {"5432/tcp": [{"HostIp": "127.0.0.1", "HostPort": "5433"}], "9/tcp": None}},
}


def test_inspect_is_read_into_container_info():
    info = container_from_inspect(INSPECT)
    assert (info.service, info.project, info.state, info.health, info.pid) == ("db", "s", "running", "healthy", 42)
    assert info.host_port(5432).host_port == 5433 and info.host_port(9) is None
    assert info.last_health_output == "ok"
    later = datetime(2026, 11, 22, 1, 1, 0, 123456, tzinfo=timezone.utc)
    assert uptime_seconds(info, later) == 60.0
    assert info.started_at + timedelta(seconds=60) == later


def report(state=ServiceState.READY, ok=True):
    svc = ServiceStatus("db", state, "running", "healthy", False, 12.34, (("5432/tcp", "127.0.0.1", 5433),),
                        1.5, 1024, None, "sql")
    once = ServiceStatus("migrate", ServiceState.DONE, "exited", None, True, None, (), None, None, None)
    return StatusReport("s", "development", (svc, once), (EndpointResult("db", "postgres://localhost:5433", ok),))


def test_json_contract():
    data = report().to_dict()
    assert list(data) == ["stack", "env", "healthy", "without_evidence", "services", "endpoints"]
    assert data["healthy"] is True
    assert data["services"][0] == {
        "name": "db", "state": "ready", "container_state": "running", "docker_health": "healthy", "oneshot": False,
        "ok": True, "evidence": "sql", "detail": "", "uptime_seconds": 12.3,
        "ports": [{"container_port": "5432/tcp", "host_ip": "127.0.0.1", "host_port": 5433}],
        "cpu_percent": 1.5, "memory_bytes": 1024, "memory_limit_bytes": None,
    }
    assert data["services"][1]["ok"] is True and data["services"][1]["state"] == "done"  # a one-shot that finished
    assert data["endpoints"] == [{"name": "db", "url": "postgres://localhost:5433", "ok": True, "detail": ""}]


def test_unhealthy_service_or_failed_endpoint_makes_stack_unhealthy():
    assert report(state=ServiceState.UNHEALTHY).healthy is False
    assert report(ok=False).healthy is False


def test_a_service_running_without_evidence_is_not_ready_nor_down_and_is_named():
    data = report(state=ServiceState.RUNNING).to_dict()
    assert data["services"][0]["ok"] is False and data["services"][0]["state"] == "running"
    assert data["healthy"] is True and data["without_evidence"] == ["db"]


def test_one_vocabulary_for_a_service_state():
    """The words up's plan decides on are the words status reports."""
    from dataclasses import replace

    from stackctl.service_state import classify

    info = container_from_inspect(INSPECT)
    from stackctl.health.gate import Observation
    from stackctl.service_state import evidence_of

    assert classify(False, info) is ServiceState.READY  # its healthcheck passes
    assert evidence_of(info, None) == "healthcheck"
    assert classify(False, info, Observation.pending("no")) is ServiceState.UNHEALTHY  # stackctl's look says no
    seen = Observation.ready("HTTP 200", "http /health")
    assert classify(False, info, seen) is ServiceState.READY and evidence_of(info, seen) == "http /health"
    # running, and nothing to show it serves: running, never ready
    assert classify(False, info, Observation.ready("running")) is ServiceState.RUNNING
    assert classify(False, replace(info, health=None)) is ServiceState.RUNNING
    assert evidence_of(replace(info, health=None), None) == "none"
    assert classify(False, replace(info, health="starting")) is ServiceState.STARTING
    assert classify(True, replace(info, state="exited", exit_code=0)) is ServiceState.DONE
    assert classify(True, replace(info, state="exited", exit_code=1)) is ServiceState.FAILED
    assert classify(False, replace(info, state="exited", exit_code=0)) is ServiceState.STOPPED
    assert classify(False, None) is ServiceState.ABSENT
