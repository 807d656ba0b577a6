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
