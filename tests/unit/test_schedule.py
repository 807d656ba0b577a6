from datetime import datetime
from pathlib import Path

import pytest

from stackctl.backup import schedule
from stackctl.errors import StackError

PLAN = schedule.Schedule("shop", Path("/srv/shop"), "production", "03:15")


def test_next_run_today_or_tomorrow():
    assert schedule.next_run("03:15", datetime(2026, 11, 22, 1, 0)) == datetime(2026, 11, 22, 3, 15)
    assert schedule.next_run("03:15", datetime(2026, 11, 22, 3, 15)) == datetime(2026, 11, 23, 3, 15)
    assert schedule.next_run("00:00", datetime(2026, 12, 31, 23, 59)) == datetime(2027, 1, 1, 0, 0)


def test_cron_line():
    text = schedule.render_cron(PLAN, executable="/opt/stackctl/bin/stackctl")
    line = text.splitlines()[-1]
    assert line == ("15 3 * * * root umask 077; /opt/stackctl/bin/stackctl --project-directory /srv/shop --env production --quiet "
                    "backup --kind scheduled >> /srv/shop/.stackctl/backup.log 2>&1")


def test_systemd_units():
    service, timer = schedule.render_systemd(PLAN, executable="/usr/local/bin/stackctl")
    assert 'ExecStart="/usr/local/bin/stackctl" "--project-directory" "/srv/shop" "--env" "production" "--quiet" "backup"' \
        in service and "NoNewPrivileges=yes" in service and "ProtectSystem=full" in service
    assert "OnCalendar=*-*-* 03:15:00" in timer and "Persistent=true" in timer


def test_install_prefers_systemd_then_cron_and_remove_cleans_up(tmp_path):
    (tmp_path / "etc/cron.d").mkdir(parents=True)
    paths = schedule.install(PLAN, root=tmp_path, executable="/x/stackctl", activate=False)
    assert paths == [tmp_path / "etc/cron.d/stackctl-backup-shop"]
    assert "15 3 * * *" in paths[0].read_text()
    assert schedule.remove(PLAN, root=tmp_path, activate=False) == paths and not paths[0].exists()

    (tmp_path / "run/systemd/system").mkdir(parents=True)
    (tmp_path / "etc/systemd/system").mkdir(parents=True)
    units = schedule.install(PLAN, root=tmp_path, executable="/x/stackctl", activate=False)
    assert [p.name for p in units] == ["stackctl-backup-shop.service", "stackctl-backup-shop.timer"]


def test_no_scheduler_is_a_clear_error(tmp_path):
    with pytest.raises(StackError, match="neither systemd nor cron"):
        schedule.install(PLAN, root=tmp_path, activate=False)


def test_the_scheduled_command_names_the_project_as_it_was_named():
    plan = schedule.Schedule("geo", Path("/srv/geo"), "production", "03:15",
                             ("-f", "/srv/geo/deploy/compose.yml", "-p", "geo", "--profile", "ops"))
    assert plan.command("/usr/local/bin/stackctl") == [
        "/usr/local/bin/stackctl", "--project-directory", "/srv/geo", "-f", "/srv/geo/deploy/compose.yml", "-p", "geo",
        "--profile", "ops", "--env", "production", "--quiet", "backup", "--kind", "scheduled"]
