"""One alert when something breaks, one when it recovers, nothing in between."""

from stackctl.watch import Incidents, Problem


def test_an_incident_alerts_once_and_recovers_once():
    incidents = Incidents()
    api_down = [Problem("service api", "api is stopped")]
    assert incidents.update(api_down, "service") == [("down", "api is stopped")]
    assert incidents.update(api_down, "service") == []  # still down: nothing more
    assert incidents.update(api_down, "service") == []
    assert incidents.update([], "service") == [("recovered", "service api recovered (was: api is stopped)")]
    assert incidents.update([], "service") == []


def test_a_health_look_does_not_close_a_resource_incident():
    incidents = Incidents()
    assert incidents.update([Problem("resource disk", "the disk is 95% full")], "resource") == [
        ("down", "the disk is 95% full")]
    assert incidents.update([], "service") == []  # a health look says nothing of the disk
    assert incidents.open == {"resource disk": "the disk is 95% full"}
    assert incidents.update([], "resource") == [("recovered", "resource disk recovered (was: the disk is 95% full)")]


NGINX_LOG = """\
172.18.0.1 - - [23/Nov/2026:17:01:02 +0000] "GET /api/stops/near?lat=52.5&lon=13.4 HTTP/1.1" 200 512 "-" "curl/8" "-"
172.18.0.1 - - [23/Nov/2026:17:01:02 +0000] "POST /api/stops HTTP/1.1" 502 157 "-" "python-httpx/0.27" "-"
172.18.0.1 - - [23/Nov/2026:17:01:03 +0000] "GET /api/health HTTP/1.1" 504 167 "-" "-" "-"
172.18.0.1 - - [23/Nov/2026:17:01:03 +0000] "GET / HTTP/1.1" 304 0 "-" "Mozilla/5.0" "-"
2026/11/23 17:01:03 [error] 22#22: *9 connect() failed (111: Connection refused) while connecting to upstream
"""


def traffic_stack(tmp_path, log: str):
    from stackctl.containers import ContainerInfo
    from stackctl.plan import ServiceSpec, StackModel
    from tests.unit.fakes import FakeEngine, fake_stack

    model = StackModel({"web": ServiceSpec("web", role="proxy"), "api": ServiceSpec("api", role="app")}, name="shop")
    web = ContainerInfo(id="w1", name="shop-web-1", service="web", project="shop", state="running")
    engine = FakeEngine([web])
    engine.logs["w1"] = log
    stack = fake_stack(tmp_path, model, engine)
    stack.__dict__["containers"] = lambda: {"web": web}
    return stack


def test_5xx_through_the_proxy_alert_past_both_thresholds(tmp_path):
    from stackctl.watch import traffic_problems

    stack = traffic_stack(tmp_path, NGINX_LOG)
    problems = traffic_problems(stack, since=0, percent=50, minimum=2)
    assert [p.key for p in problems] == ["traffic 5xx web"]
    assert problems[0].text.startswith("2 of 4 requests through web were answered with a 5xx in the last ")
    assert traffic_problems(stack, since=0, percent=51, minimum=2) == []  # 50% is below 51%
    assert traffic_problems(stack, since=0, percent=5, minimum=3) == []  # two 5xx are not three
    assert traffic_problems(traffic_stack(tmp_path, ""), since=0, percent=1, minimum=1) == []

