import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from stackctl.backup import sets
from stackctl.errors import StackError

NOW = datetime(2026, 11, 22, 3, 0, tzinfo=timezone.utc)


def make(folder: Path, days_ago: float, complete=True, kind="manual") -> sets.BackupSet:
    when = NOW - timedelta(days=days_ago)
    backup_id = sets.new_id(when)
    path = folder / backup_id
    path.mkdir(parents=True)
    (path / "postgres.dump").write_bytes(b"PGDMP" + backup_id.encode())
    manifest = {"format": 1, "id": backup_id, "created_at": when.isoformat(), "complete": complete, "kind": kind,
                "postgres": {"file": "postgres.dump", "bytes": 21,
                             "sha256": sets.sha256_file(path / "postgres.dump")}}
    (path / "manifest.json").write_text(json.dumps(manifest))
    return sets.BackupSet(path, manifest)


def test_listing_is_newest_first_and_ignores_partial_and_incomplete(tmp_path):
    old, new = make(tmp_path, 3), make(tmp_path, 1)
    make(tmp_path, 2, complete=False)
    (tmp_path / ".partial-20261122T000000Z").mkdir()
    (tmp_path / "stray").mkdir()
    assert [s.id for s in sets.list_sets(tmp_path)] == [new.id, old.id]
    assert [p.name for p in sets.leftovers(tmp_path)] == [".partial-20261122T000000Z"]


def ids(backups):
    return sorted(b.id for b in backups)


def test_retention_by_age_keeps_recent(tmp_path):
    keep = [make(tmp_path, d) for d in (0.5, 10, 29)]
    doomed = [make(tmp_path, d) for d in (31, 90)]
    assert ids(sets.to_prune(sets.list_sets(tmp_path), 30, 0, NOW)) == ids(doomed)
    assert keep


def test_retention_by_count(tmp_path):
    backups = [make(tmp_path, d) for d in (1, 2, 3, 4)]
    assert ids(sets.to_prune(sets.list_sets(tmp_path), 0, 2, NOW)) == ids(backups[2:])


def test_retention_never_deletes_the_newest_even_if_old(tmp_path):
    only = make(tmp_path, 400)
    older = make(tmp_path, 500)
    assert ids(sets.to_prune(sets.list_sets(tmp_path), 30, 0, NOW)) == ids([older])
    assert only.id not in ids(sets.to_prune(sets.list_sets(tmp_path), 30, 1, NOW))


def test_retention_zero_means_unlimited(tmp_path):
    for d in (1, 100, 1000):
        make(tmp_path, d)
    assert sets.to_prune(sets.list_sets(tmp_path), 0, 0, NOW) == []


def test_find_by_id_prefix_and_path(tmp_path):
    a = make(tmp_path, 1)
    make(tmp_path, 40)
    assert sets.find_set(tmp_path, a.id).id == a.id
    assert sets.find_set(tmp_path, str(a.path)).id == a.id
    with pytest.raises(StackError, match="matches 2 backups"):
        sets.find_set(tmp_path, "2026")
    with pytest.raises(StackError, match="no backup 'nope'"):
        sets.find_set(tmp_path, "nope")


def test_check_files_catches_truncation_and_bit_flips(tmp_path):
    from stackctl.backup.verify import check_files

    good = make(tmp_path, 1)
    assert check_files(good) == []
    dump = good.path / "postgres.dump"
    data = bytearray(dump.read_bytes())
    data[7] ^= 0x01
    dump.write_bytes(bytes(data))
    assert check_files(good) == ["postgres.dump does not match its sha256 checksum"]
    dump.write_bytes(bytes(data[:10]))
    assert check_files(good) == ["postgres.dump is 10 bytes, the manifest says 21"]
    dump.unlink()
    assert check_files(good) == ["postgres.dump is missing"]


@pytest.mark.parametrize("name", ["../elsewhere/x.dump", "/etc/passwd", "..", "sub/postgres.dump", ""])
def test_a_manifest_naming_a_file_outside_its_set_is_refused_unopened(tmp_path, name):
    from stackctl.backup.verify import check_files

    backup = make(tmp_path / "sets", 1)
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "x.dump").write_bytes(b"PGDMP")
    forged = sets.BackupSet(backup.path, {**backup.manifest, "postgres": {**backup.manifest["postgres"], "file": name}})
    with pytest.raises(StackError) as err:
        check_files(forged)
    assert err.value.exit_code == 2 and "not a file inside the set" in err.value.message


def test_dumps_and_manifests_are_readable_by_their_owner_only(tmp_path):
    folder = tmp_path / "backups" / "shop"
    sets.make_private_dir(folder)
    writer = sets.HashingWriter(folder / "postgres.dump")
    writer.write(b"PGDMP")
    writer.close()
    sets.write_manifest(folder, {"id": "x"})
    assert folder.stat().st_mode & 0o777 == 0o700
    assert (folder / "postgres.dump").stat().st_mode & 0o777 == 0o600
    assert (folder / "manifest.json").stat().st_mode & 0o777 == 0o600


def test_a_full_disk_is_named_with_its_folder_and_free_space(tmp_path):
    import errno

    from stackctl.backup.create import disk_error

    error = disk_error(OSError(errno.ENOSPC, "No space left on device"), tmp_path)
    assert error.message.startswith(f"backup failed, nothing was recorded: the disk holding {tmp_path} is full (")
    assert "MiB free)" in error.message and "STACKCTL_BACKUP_DIR" in error.hint
