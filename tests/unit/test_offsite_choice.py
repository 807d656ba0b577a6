"""Where off-site copies go: restic when configured, an SFTP folder of plain copies otherwise; sets
copied to the SFTP folder before restic was configured stay listed and restorable."""

from types import SimpleNamespace

import pytest

from stackctl.backup import offsite, remote, restic
from stackctl.errors import StackError


def stack(restic_repository="", sftp=""):
    return SimpleNamespace(settings=SimpleNamespace(backup_restic_repository=restic_repository, backup_remote=sftp))


@pytest.fixture
def destinations(monkeypatch):
    """Each destination's sets (by id), answering as the modules do."""
    held = {"restic": {"20261201T030000Z"}, "sftp": {"20251101T030000Z"}}

    def peek_of(name):
        def peek(_stack, backup_id):
            if backup_id not in held[name]:
                raise StackError(f"no off-site backup '{backup_id}' in {name}", "", 2)
            return f"{name}:{backup_id}"
        return peek

    monkeypatch.setattr(restic, "peek", peek_of("restic"))
    monkeypatch.setattr(remote, "peek", peek_of("sftp"))
    monkeypatch.setattr(restic, "push", lambda _s, b, _report: f"restic got {b}")
    monkeypatch.setattr(remote, "push", lambda _s, b, _report: f"sftp got {b}")
    return held


def test_new_copies_go_to_restic_when_it_is_configured(destinations):
    assert offsite.push(stack("rest:https://b/", "sftp://u@h/srv"), "set") == "restic got set"
    assert offsite.push(stack(sftp="sftp://u@h/srv"), "set") == "sftp got set"


def test_a_set_copied_over_sftp_before_restic_is_still_found(destinations):
    both = stack("rest:https://b/", "sftp://u@h/srv")
    assert offsite.peek(both, "20261201T030000Z") == "restic:20261201T030000Z"
    assert offsite.peek(both, "20251101T030000Z") == "sftp:20251101T030000Z"
    with pytest.raises(StackError, match="no off-site backup '20240101T000000Z' in restic"):
        offsite.peek(both, "20240101T000000Z")


def test_nothing_configured_says_what_to_set(destinations):
    with pytest.raises(StackError) as err:
        offsite.push(stack(), "set")
    assert err.value.exit_code == 2 and "STACKCTL_BACKUP_RESTIC_REPOSITORY" in err.value.hint


def test_a_restic_check_needs_restic():
    with pytest.raises(StackError, match="needs a restic repository"):
        offsite.check(stack(sftp="sftp://u@h/srv"))
