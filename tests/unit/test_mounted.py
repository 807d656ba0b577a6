"""Which read-only bind mounts of a container changed after it started (stackctl.mounted)."""

import os
from datetime import datetime, timezone

from stackctl.containers import ContainerInfo
from stackctl import mounted


def started(at: float, *binds: str) -> ContainerInfo:
    return ContainerInfo("c1", "proxy-1", "proxy", "p", "running",
                         started_at=datetime.fromtimestamp(at, timezone.utc), read_only_binds=binds)


def test_a_file_or_a_file_in_a_folder_written_after_the_start_is_named_and_older_ones_are_not(tmp_path):
    conf, folder = tmp_path / "nginx.conf", tmp_path / "conf.d"
    folder.mkdir()
    conf.write_text("old")
    (folder / "a.conf").write_text("old")
    os.utime(conf, (1000, 1000))
    os.utime(folder / "a.conf", (1000, 1000))
    os.utime(folder, (1000, 1000))
    info = started(2000, str(conf), str(folder), str(tmp_path / "gone"))
    assert mounted.changed_since_start(info) == []
    os.utime(folder / "a.conf", (3000, 3000))
    assert mounted.changed_since_start(info) == [str(folder)]
    os.utime(conf, (3000, 3000))
    assert mounted.changed_since_start(info) == [str(conf), str(folder)]


def test_a_folder_too_big_to_be_configuration_and_a_container_not_running_are_not_looked_into(tmp_path, monkeypatch):
    folder = tmp_path / "data"
    folder.mkdir()
    for n in range(4):
        (folder / f"{n}.bin").write_text("x")
    monkeypatch.setattr(mounted, "MAX_FILES", 3)
    assert mounted.changed_since_start(started(0, str(folder))) == []
    stopped = ContainerInfo("c1", "proxy-1", "proxy", "p", "exited", read_only_binds=(str(tmp_path),))
    assert mounted.changed_since_start(stopped) == []


def test_only_read_only_bind_mounts_are_read_from_the_engine():
    from stackctl.containers import container_from_inspect

    info = container_from_inspect({"Id": "c1", "State": {"Status": "running"}, "Mounts": [
        {"Type": "bind", "Source": "/srv/site.conf", "RW": False},
        {"Type": "bind", "Source": "/srv/uploads", "RW": True},
        {"Type": "volume", "Source": "/var/lib/docker/volumes/x/_data", "RW": False}]})
    assert info.read_only_binds == ("/srv/site.conf",)
