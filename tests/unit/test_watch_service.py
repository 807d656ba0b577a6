"""monitor --install: what it writes (systemd service or cron entry), and that incidents outlive a look."""

from pathlib import Path

from stackctl import watch_service
from stackctl.backup import schedule
from stackctl.watch import Incidents, Problem

SERVICE = watch_service.WatchService("shop", Path("/srv/shop"), "production", ("-p", "shop"))


def test_systemd_runs_the_watch_and_restarts_it():
    assert watch_service.render_systemd(SERVICE, "/opt/stackctl/bin/stackctl") == (
        "[Unit]\nDescription=stackctl monitor of stack shop\nAfter=docker.service\nWants=docker.service\n\n"
        "[Service]\nRestart=always\nRestartSec=10\nWorkingDirectory=/srv/shop\n"
        'ExecStart="/opt/stackctl/bin/stackctl" "--project-directory" "/srv/shop" "-p" "shop" "--env" "production" "monitor"\n'
        "NoNewPrivileges=yes\nProtectSystem=full\nPrivateTmp=yes\nProtectKernelTunables=yes\n"
        "ProtectKernelModules=yes\nProtectControlGroups=yes\nRestrictSUIDSGID=yes\nLockPersonality=yes\n"
        "\n[Install]\nWantedBy=multi-user.target\n")


def test_cron_looks_once_a_minute_and_logs(tmp_path):
    (tmp_path / "etc/cron.d").mkdir(parents=True)
    paths = watch_service.install(SERVICE, tmp_path, "/opt/stackctl/bin/stackctl", activate=False)
    assert paths == [tmp_path / "etc/cron.d/stackctl-monitor-shop"]
    assert paths[0].read_text().splitlines()[-1] == (
        "* * * * * root umask 077; /opt/stackctl/bin/stackctl --project-directory /srv/shop -p shop --env production "
        "monitor --once >> /srv/shop/.stackctl/monitor.log 2>&1")
    assert oct(paths[0].stat().st_mode & 0o777) == "0o644"
    assert watch_service.remove(SERVICE, tmp_path, activate=False) == paths
    assert not paths[0].exists()
    assert watch_service.remove(SERVICE, tmp_path, activate=False) == []


def test_a_monitor_installed_under_its_old_name_is_replaced_and_removed(tmp_path):
    (tmp_path / "etc/cron.d").mkdir(parents=True)
    old = tmp_path / "etc/cron.d/stackctl-watch-shop"
    old.write_text("* * * * * root stackctl watch --once\n")
    paths = watch_service.install(SERVICE, tmp_path, "/opt/stackctl/bin/stackctl", activate=False)
    assert not old.exists() and paths == [tmp_path / "etc/cron.d/stackctl-monitor-shop"]
    old.write_text("* * * * * root stackctl watch --once\n")
    assert sorted(watch_service.remove(SERVICE, tmp_path, activate=False)) == sorted([paths[0], old])


def test_a_scheduled_backup_is_seen_as_installed(tmp_path):
    (tmp_path / "etc/cron.d").mkdir(parents=True)
    assert not schedule.installed("shop", tmp_path)
    schedule.install(schedule.Schedule("shop", Path("/srv/shop"), "production", "03:00"), tmp_path, "stackctl",
                     activate=False)
    assert schedule.installed("shop", tmp_path)


def test_open_incidents_outlive_one_look(tmp_path):
    state = tmp_path / ".stackctl" / "incidents.json"
    first = Incidents.load(state)
    assert first.update([Problem("service api", "api is stopped")], "service") == [("down", "api is stopped")]
    first.save(state)
    second = Incidents.load(state)  # the next cron run: still down, nothing to say
    assert second.update([Problem("service api", "api is stopped")], "service") == []
    assert second.update([], "service") == [("recovered", "service api recovered (was: api is stopped)")]
    state.write_text("not json")
    assert Incidents.load(state).open == {}


def test_the_project_is_named_for_later_as_it_was_named_now():
    from stackctl.project import Project

    project = Project(Path("/srv/shop"), "production", (Path("/srv/shop/compose.yaml"),), name="shop",
                      profiles=("workers",), overlay=Path("/srv/shop/compose.prod.yaml"))
    assert schedule.project_args(project) == ("-f", "/srv/shop/compose.yaml", "-p", "shop", "--profile", "workers",
                                              "--prod-file", "/srv/shop/compose.prod.yaml")
    assert schedule.project_args(Project(Path("/srv/shop"))) == ()


def test_a_path_with_a_newline_or_a_percent_never_writes_a_line_of_its_own():
    import pytest

    from stackctl.errors import StackError

    odd = watch_service.WatchService("shop", Path("/srv/50%_off $HOME"), "production")
    unit = watch_service.render_systemd(odd, "/opt/stackctl/bin/stackctl")
    assert 'WorkingDirectory=/srv/50%%_off $HOME\n' in unit and '"/srv/50%%_off $$HOME"' in unit
    cron = watch_service.render_cron(odd, "/opt/stackctl/bin/stackctl")
    assert "'/srv/50\\%_off $HOME'" in cron and len(cron.splitlines()) == 3
    injected = watch_service.WatchService("shop", Path("/srv/x\n* * * * * root rm -rf /"), "production")
    for render in (watch_service.render_systemd, watch_service.render_cron):
        with pytest.raises(StackError, match="newline or another control character") as raised:
            render(injected, "/opt/stackctl/bin/stackctl")
        assert raised.value.exit_code == 2


def test_a_root_unit_never_runs_a_stackctl_others_can_change(tmp_path, monkeypatch):
    import os

    import pytest

    from stackctl import units
    from stackctl.errors import StackError

    venv = tmp_path / "venv" / "bin"
    venv.mkdir(parents=True)
    exe = venv / "stackctl"
    exe.write_text("#!/bin/sh\n")
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    tmp_path.chmod(0o755)
    (tmp_path / "venv").chmod(0o777)  # anyone may swap what is in it
    with pytest.raises(StackError, match="can be changed by another user") as raised:
        units.only_root_can_change(str(exe))
    assert "venv is writable by others" in raised.value.message
    (tmp_path / "venv").chmod(0o755)
    units.only_root_can_change(str(exe))
