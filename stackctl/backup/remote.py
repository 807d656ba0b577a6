"""Off-site copies of backup sets over SFTP (STACKCTL_BACKUP_REMOTE=sftp://user@host[:port]/path).

A push writes a set under `.partial-<id>` on the remote, reads every file back and compares its
sha256 with the manifest, and only then renames it into place; the retention rules apply there
too. A fetch does the same in the other direction, so `restore --from-remote` restores only a
set that checked. Authentication is ssh's own: keys (the agent, ~/.ssh/config's IdentityFile),
and a host key already in ~/.ssh/known_hosts; a password in the address is refused.
"""

from __future__ import annotations

import hashlib
import posixpath
import stat
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from stackctl.backup import sets
from stackctl.errors import ConfigError, StackError

CHUNK = 1 << 20


@dataclass(frozen=True)
class Remote:
    user: str | None
    host: str
    port: int | None
    path: str

    def __str__(self) -> str:
        return f"sftp://{self.user + '@' if self.user else ''}{self.host}{':' + str(self.port) if self.port else ''}" \
               f"{self.path}"


def parse(url: str) -> Remote:
    found = urlparse(url)
    if found.scheme != "sftp" or not found.hostname or not found.path or found.path == "/":
        raise ConfigError(f"STACKCTL_BACKUP_REMOTE {url!r} is not an SFTP folder",
                          "use sftp://user@host[:port]/absolute/folder")
    if found.password:
        raise ConfigError("STACKCTL_BACKUP_REMOTE carries a password", "use an ssh key (ssh-copy-id), not a password")
    return Remote(found.username, found.hostname, found.port, found.path.rstrip("/"))


def configured(stack) -> Remote:
    url = stack.settings.backup_remote
    if not url:
        raise StackError("no off-site folder is configured",
                         "set STACKCTL_BACKUP_REMOTE=sftp://user@host/folder in your env file", 2)
    return parse(url)


@dataclass(frozen=True)
class Pushed:
    backup_id: str
    remote: str
    bytes: int
    pruned: tuple[str, ...]

    def to_dict(self) -> dict:
        return {"id": self.backup_id, "remote": self.remote, "bytes": self.bytes, "checked": True,
                "pruned": list(self.pruned)}


@dataclass(frozen=True)
class RemoteList:
    remote: str
    backups: tuple[dict, ...]

    def to_dict(self) -> dict:
        return {"remote": self.remote, "backups": list(self.backups)}


@contextmanager
def connected(remote: Remote):
    import paramiko

    config_path = Path.home() / ".ssh" / "config"
    options = paramiko.SSHConfig.from_path(str(config_path)).lookup(remote.host) if config_path.is_file() else {}
    client = paramiko.SSHClient()
    client.load_system_host_keys()
    known = Path(options.get("userknownhostsfile", "~/.ssh/known_hosts").split()[0]).expanduser()
    if known.is_file():
        client.load_host_keys(str(known))
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    try:
        client.connect(options.get("hostname", remote.host), port=remote.port or int(options.get("port", 22)),
                       username=remote.user or options.get("user"), key_filename=options.get("identityfile"),
                       timeout=20, allow_agent=True, look_for_keys=True)
    except paramiko.SSHException as exc:
        raise StackError(f"cannot reach the off-site folder {remote}: {exc}",
                         f"check that ssh {remote.user + '@' if remote.user else ''}{remote.host} works with your key "
                         "and its host key is in ~/.ssh/known_hosts") from None
    except OSError as exc:
        raise StackError(f"cannot reach the off-site folder {remote}: {exc.strerror or exc}",
                         "check the address and that sshd listens there") from None
    try:
        yield client.open_sftp()
    finally:
        client.close()


def _makedirs(sftp, path: str) -> None:
    current = ""
    for part in path.strip("/").split("/"):
        current += "/" + part
        try:
            sftp.stat(current)
        except FileNotFoundError:
            sftp.mkdir(current, mode=0o700)


def _sha256(sftp, path: str) -> str:
    digest = hashlib.sha256()
    with sftp.open(path, "rb") as f:
        f.prefetch()
        while chunk := f.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _rmtree(sftp, path: str) -> None:
    for entry in sftp.listdir_attr(path):
        child = posixpath.join(path, entry.filename)
        if stat.S_ISDIR(entry.st_mode):
            _rmtree(sftp, child)
        else:
            sftp.remove(child)
    sftp.rmdir(path)


def _remote_sets(sftp, folder: str) -> list[sets.BackupSet]:
    import json

    found = []
    try:
        entries = sftp.listdir(folder)
    except FileNotFoundError:
        return []
    for name in entries:
        if name.startswith("."):
            continue
        try:
            with sftp.open(posixpath.join(folder, name, sets.MANIFEST), "rb") as f:
                manifest = json.loads(f.read())
        except (OSError, ValueError):
            continue
        if manifest.get("complete"):
            found.append(sets.BackupSet(Path(posixpath.join(folder, name)), manifest))
    return sorted(found, key=lambda b: b.id, reverse=True)


def push(stack, backup_set: sets.BackupSet) -> Pushed:
    """Copy a set off-site, read it back there, then rename it into place; retention applies there."""
    remote = configured(stack)
    folder = posixpath.join(remote.path, stack.name)
    final, partial = posixpath.join(folder, backup_set.id), posixpath.join(folder, f"{sets.PARTIAL_PREFIX}{backup_set.id}")
    files = {meta["file"]: meta["sha256"] for meta in backup_set.files().values()}
    with connected(remote) as sftp:
        _makedirs(sftp, folder)
        try:
            sftp.stat(final)
            exists = True
        except FileNotFoundError:
            exists = False
        if not exists:
            try:
                sftp.stat(partial)
                _rmtree(sftp, partial)  # a push that died half-way
            except FileNotFoundError:
                pass
            sftp.mkdir(partial, mode=0o700)
            for name in [*files, sets.MANIFEST]:
                sftp.put(str(backup_set.path / name), posixpath.join(partial, name))
                sftp.chmod(posixpath.join(partial, name), 0o600)
        where = final if exists else partial
        for name, expected in files.items():
            if _sha256(sftp, posixpath.join(where, name)) != expected:
                if not exists:
                    _rmtree(sftp, partial)
                raise StackError(f"the off-site copy of {name} does not match its checksum: nothing was kept there",
                                 "push again: stackctl backups push " + backup_set.id)
        if not exists:
            sftp.posix_rename(partial, final)
        s = stack.settings
        doomed = sets.to_prune(_remote_sets(sftp, folder), s.backup_keep_days, s.backup_keep_count)
        for old in doomed:
            _rmtree(sftp, str(old.path))
    return Pushed(backup_set.id, f"{remote}/{stack.name}/{backup_set.id}", backup_set.size,
                  tuple(old.id for old in doomed))


def listing(stack) -> RemoteList:
    remote = configured(stack)
    with connected(remote) as sftp:
        found = _remote_sets(sftp, posixpath.join(remote.path, stack.name))
    return RemoteList(str(remote), tuple({"id": b.id, "created_at": b.manifest.get("created_at"),
                                          "kind": b.manifest.get("kind", "manual"), "bytes": b.size}
                                         for b in found))


def fetch(stack, backup_id: str, local_folder: Path) -> sets.BackupSet:
    """Bring a set back from off-site into the local folder, checked, as `backup` would have left it."""
    import json
    import shutil

    remote = configured(stack)
    folder = posixpath.join(remote.path, stack.name)
    with connected(remote) as sftp:
        matches = [b for b in _remote_sets(sftp, folder) if b.id.startswith(backup_id)]
        if len(matches) != 1:
            raise StackError(f"{'no' if not matches else 'more than one'} off-site backup '{backup_id}' in "
                             f"{remote}/{stack.name}", "list them with stackctl backups --remote", 2)
        found = matches[0]
        sets.make_private_dir(local_folder)
        partial = local_folder / f"{sets.PARTIAL_PREFIX}{found.id}"
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(mode=sets.PRIVATE_DIR)
        try:
            for meta in found.files().values():
                sftp.get(posixpath.join(str(found.path), meta["file"]), str(partial / meta["file"]))
                (partial / meta["file"]).chmod(sets.PRIVATE_FILE)
            sets.write_manifest(partial, found.manifest)
            fetched = sets.BackupSet(partial, json.loads((partial / sets.MANIFEST).read_text()))
            from stackctl.backup.verify import check_files

            problems = check_files(fetched)
            if problems:
                raise StackError(f"the off-site backup {found.id} is damaged: {'; '.join(problems)}",
                                 "choose another: stackctl backups --remote")
            final = local_folder / found.id
            if final.exists():
                shutil.rmtree(partial)
                return sets.find_set(local_folder, found.id)
            partial.rename(final)
        except BaseException:
            shutil.rmtree(partial, ignore_errors=True)
            raise
    return sets.BackupSet(final, found.manifest)
