"""Off-site copies of backup sets over SFTP (STACKCTL_BACKUP_REMOTE=sftp://user@host[:port]/path).

A push writes a set under `.partial-<id>` on the remote, reads every file back and compares its
sha256 with the manifest, and only then renames it into place; the retention rules apply there
too. A fetch does the same in the other direction, so `restore --from-remote` restores only a
set that checked. Authentication is ssh's own: keys (the agent, ~/.ssh/config's IdentityFile),
and a host key already in ~/.ssh/known_hosts; a password in the address is refused.
"""

from __future__ import annotations

import hashlib
import os
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
    """The complete sets off-site whose manifests are ones stackctl writes (sets.manifest_problems):
    anything else there is not a set, and none of its fields is ever used."""
    found = []
    try:
        entries = sftp.listdir(folder)
    except FileNotFoundError:
        return []
    for name in entries:
        if not sets.ID.match(name):
            continue
        manifest = _read_manifest(sftp, posixpath.join(folder, name))
        if isinstance(manifest, dict) and manifest.get("complete") and not sets.manifest_problems(manifest, name):
            found.append(sets.BackupSet(Path(posixpath.join(folder, name)), manifest))
    return sorted(found, key=lambda b: b.id, reverse=True)


MAX_MANIFEST = 1 << 20  # a manifest is a few KB; a larger one is not read


def _read_manifest(sftp, set_path: str):
    import json

    try:
        with sftp.open(posixpath.join(set_path, sets.MANIFEST), "rb") as f:
            data = f.read(MAX_MANIFEST + 1)
        return json.loads(data) if len(data) <= MAX_MANIFEST else None
    except (OSError, ValueError):
        return None


def push(stack, backup_set: sets.BackupSet, report=None) -> Pushed:
    """Copy a set off-site, read it back there, then rename it into place; retention applies there."""
    from stackctl.report import SILENT, Metered
    remote = configured(stack)
    folder = posixpath.join(remote.path, stack.name)
    final, partial = posixpath.join(folder, backup_set.id), posixpath.join(folder, f"{sets.PARTIAL_PREFIX}{backup_set.id}")
    files = {meta["file"]: meta["sha256"] for _, meta in backup_set.files()}
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
            meter = Metered(report or SILENT, f"push {backup_set.id}",
                            sum((backup_set.path / name).stat().st_size for name in [*files, sets.MANIFEST]))
            for name in [*files, sets.MANIFEST]:
                before = meter.done
                sftp.put(str(backup_set.path / name), posixpath.join(partial, name),
                         callback=lambda sent, _total, base=before: meter.count(base + sent - meter.done))
                sftp.chmod(posixpath.join(partial, name), 0o600)
            meter.finish()
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


def _one(sftp, remote: Remote, folder: str, backup_id: str) -> sets.BackupSet:
    """The one good set off-site whose id is, or starts with, `backup_id`."""
    listed = _remote_sets(sftp, folder)
    matches = [b for b in listed if b.id == backup_id] or [b for b in listed if b.id.startswith(backup_id)]
    if len(matches) == 1:
        return matches[0]
    if not matches and sets.ID.match(backup_id):
        manifest = _read_manifest(sftp, posixpath.join(folder, backup_id))
        if manifest is not None:  # there, but not a set stackctl wrote: say why, use none of it
            sets.checked_manifest(manifest, backup_id, f"the off-site backup {backup_id}")
    raise StackError(f"{'no' if not matches else 'more than one'} off-site backup '{backup_id}' in "
                     f"{remote}/{folder.rsplit('/', 1)[-1]}",
                     "list them with stackctl backups --remote", 2)


def peek(stack, backup_id: str) -> sets.BackupSet:
    """The off-site set's manifest, checked, without fetching a file (what `--dry-run` plans from)."""
    remote = configured(stack)
    with connected(remote) as sftp:
        return _one(sftp, remote, posixpath.join(remote.path, stack.name), backup_id)


def _download(sftp, source: str, folder_fd: int, name: str, size: int, sha256: str) -> str | None:
    """One file into the partial folder under its checked name: created new (never over a file,
    never through a link), read no further than the manifest's size, and hashed as it is written.
    What is wrong with it, or None."""
    digest, written = hashlib.sha256(), 0
    fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, sets.PRIVATE_FILE, dir_fd=folder_fd)
    with os.fdopen(fd, "wb") as out, sftp.open(source, "rb") as src:
        while chunk := src.read(CHUNK):
            written += len(chunk)
            if written > size:
                return f"{name} is larger than the manifest says ({size} bytes)"
            digest.update(chunk)
            out.write(chunk)
        out.flush()
        os.fsync(out.fileno())
    if written != size:
        return f"{name} is {written} bytes, the manifest says {size}"
    if digest.hexdigest() != sha256:
        return f"{name} does not match its sha256 checksum"
    return None


def fresh_folder(path: Path) -> int:
    """A new, owner-only folder at `path` (a leftover there, even a link, is removed, never
    followed) and an open descriptor on it."""
    import shutil

    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.exists():
        shutil.rmtree(path)
    os.mkdir(path, sets.PRIVATE_DIR)
    return os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)


def fetch(stack, backup_id: str, local_folder: Path) -> sets.BackupSet:
    """Bring a set back from off-site into the local folder, checked, as `backup` would have left it.

    Nothing of the remote manifest is used before it is checked (sets.manifest_problems): its id
    names the folder, its file names are plain names inside it, and each file is written new
    inside a folder made for it, so nothing outside that folder can be written."""
    remote = configured(stack)
    folder = posixpath.join(remote.path, stack.name)
    with connected(remote) as sftp:
        found = _one(sftp, remote, folder, backup_id)
        final = local_folder / found.id
        if (final / sets.MANIFEST).is_file():
            return sets.find_set(local_folder, found.id)  # here already: the local copy is checked where used
        sets.make_private_dir(local_folder)
        partial = local_folder / f"{sets.PARTIAL_PREFIX}{found.id}"
        folder_fd = fresh_folder(partial)
        try:
            problems = [why for _, meta in found.files()
                        if (why := _download(sftp, posixpath.join(folder, found.id, meta["file"]), folder_fd,
                                             meta["file"], meta["bytes"], meta["sha256"]))]
            if problems:
                raise StackError(f"the off-site backup {found.id} is damaged, nothing was restored: "
                                 f"{'; '.join(problems)}", "choose another: stackctl backups --remote", 2)
            sets.write_manifest(partial, found.manifest)
            partial.rename(final)
        except BaseException:
            import shutil

            shutil.rmtree(partial, ignore_errors=True)
            raise
        finally:
            os.close(folder_fd)
    return sets.find_set(local_folder, found.id)
