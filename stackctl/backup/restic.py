"""Off-site copies encrypted and authenticated by restic (STACKCTL_BACKUP_RESTIC_REPOSITORY).

restic runs in a throwaway container (STACKCTL_RESTIC_IMAGE) on the engine's host, on the host's
network, so the machine running stackctl needs nothing but the engine: the set goes in as an
archive, restic's password as a file only root reads in that container (never an argument or
a variable docker shows), and the container is removed when the command ends.

- push: the set is one snapshot (host: the stack; tags: stackctl, stack:<name>, set:<id>), then
  every file is read back from the repository there and its sha256 compared with the manifest;
  retention (STACKCTL_BACKUP_KEEP_DAYS/COUNT) applies there with `forget --prune`.
- listing, peek, fetch: snapshots of this stack; a fetched set's manifest is checked before any
  of its names is used (sets.checked_manifest) and each file is written new inside a folder made
  for it, no larger than its manifest says, hashed as it comes.
- check: `restic check` (structure; with read_data every pack is read and authenticated).

The repository's password is made at the first push (.stackctl/restic.password, 0600), like the
backup key: keep a copy away from the host, or the repository cannot be read (README: Security).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from stackctl.backup import sets
from stackctl.errors import EXIT_USAGE, StackError

INSIDE = "/sets"  # where a set is put in restic's container, and so its path in every snapshot
SECRETS = "/run/stackctl"
PASSWORD = f"{SECRETS}/restic.password"
HELPER_LABEL = "stackctl.restic"
# restic's own variables for its backends' credentials: passed on from stackctl's environment.
BACKEND_VARIABLES = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_DEFAULT_REGION",
                     "B2_ACCOUNT_ID", "B2_ACCOUNT_KEY", "AZURE_ACCOUNT_NAME", "AZURE_ACCOUNT_KEY",
                     "AZURE_ACCOUNT_SAS", "GOOGLE_PROJECT_ID", "GOOGLE_APPLICATION_CREDENTIALS",
                     "RESTIC_REST_USERNAME", "RESTIC_REST_PASSWORD", "OS_AUTH_URL", "OS_USERNAME", "OS_PASSWORD",
                     "OS_PROJECT_NAME", "OS_REGION_NAME")
MAX_MANIFEST = sets.MANIFEST_LIMIT
SET_TAG = re.compile(r"^set:(\d{8}T\d{6}Z)$")


def configured(stack) -> str | None:
    return stack.settings.backup_restic_repository or None


def password_path(stack) -> Path:
    path = Path(stack.settings.backup_restic_password_file)
    return path if path.is_absolute() else stack.project.root / path


def _password(stack, create: bool) -> bytes:
    """The repository's password: made (64 hex characters, 0600) at the first push."""
    path = password_path(stack)
    if not path.exists():
        if not create:
            raise StackError(f"no restic password at {path}: this host has never pushed to "
                             f"{stack.settings.backup_restic_repository}",
                             "copy the password file from the host that made the repository (README: Security)",
                             EXIT_USAGE)
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32) + "\n")
    if path.is_symlink() or path.stat().st_mode & 0o077:
        raise StackError(f"the restic password file {path} is readable by others or a link",
                         f"chmod 600 {path} (and make it a plain file)", EXIT_USAGE)
    value = path.read_bytes().strip()
    if len(value) < 16:
        raise StackError(f"the restic password file {path} holds fewer than 16 characters",
                         "restore it from where you keep it (README: Security)", EXIT_USAGE)
    return value + b"\n"


@dataclass(frozen=True)
class Snapshot:
    id: str  # restic's
    set_id: str
    time: str
    kind: str


@dataclass(frozen=True)
class Checked:
    repository: str
    read_data: bool
    said: tuple[str, ...]

    def to_dict(self) -> dict:
        return {"repository": self.repository, "ok": True, "read_data": self.read_data, "said": list(self.said)}


class Helper:
    """restic's throwaway container for one command."""

    def __init__(self, stack, container: str):
        self.stack, self.engine, self.container = stack, stack.engine, container
        self.repository = stack.settings.backup_restic_repository
        self.env = {"RESTIC_REPOSITORY": self.repository, "RESTIC_PASSWORD_FILE": PASSWORD,
                    "RESTIC_CACHE_DIR": "/tmp/restic-cache", "HOME": "/root"}
        self.env.update({k: os.environ[k] for k in BACKEND_VARIABLES if os.environ.get(k)})

    def run(self, *args: str, what: str, reads: bool = False):
        """restic with these arguments; its answer, or a one-line error naming what failed."""
        argv = ["restic", "--no-lock", *args] if args[0] in ("snapshots", "dump") else ["restic", *args]
        run = self.engine.read if reads else self.engine.exec
        result = run(self.container, argv, env=self.env)
        if result.exit_code != 0:
            raise StackError(f"restic {what} failed on {self.repository}: {_last_line(result.stderr)}", _hint(result.stderr))
        return result

    def snapshots(self) -> list[Snapshot]:
        """This stack's sets in the repository, newest first."""
        out = self.run("snapshots", "--json", "--tag", f"stack:{self.stack.name}", what="listing snapshots", reads=True)
        found = []
        for item in json.loads(out.stdout or "[]") or []:
            tags = item.get("tags") or []
            ids = [m.group(1) for t in tags if (m := SET_TAG.match(str(t)))]
            if len(ids) == 1 and re.fullmatch(r"[0-9a-f]{64}", str(item.get("id", ""))):
                kind = next((t.split(":", 1)[1] for t in tags if str(t) in ("kind:manual", "kind:scheduled")), "manual")
                found.append(Snapshot(item["id"], ids[0], _made_at(ids[0]), kind))
        return sorted(found, key=lambda s: s.set_id, reverse=True)

    def dump(self, snapshot: Snapshot, name: str, sink) -> None:
        path = f"{INSIDE}/{snapshot.set_id}/{name}"
        result = self.engine.exec_to_file(self.container, ["restic", "--no-lock", "dump", snapshot.id, path], sink,
                                          env=self.env)
        if result.exit_code != 0:
            raise StackError(f"restic dump of {name} failed on {self.repository}: {_last_line(result.stderr)}",
                             _hint(result.stderr))

    def sha256_there(self, snapshot: Snapshot, name: str) -> str:
        """A file of the snapshot read back from the repository and hashed in restic's container."""
        result = self.engine.read(self.container, ["sh", "-c", 'restic --no-lock dump "$1" "$2" | sha256sum',
                                                   "sh", snapshot.id, f"{INSIDE}/{snapshot.set_id}/{name}"],
                                  env=self.env)
        digest = result.stdout.split()[0] if result.exit_code == 0 and result.stdout.split() else ""
        if not re.fullmatch(r"[0-9a-f]{64}", digest) or "Fatal" in result.stderr:
            raise StackError(f"reading {name} back from {self.repository} failed: {_last_line(result.stderr)}",
                             _hint(result.stderr))
        return digest


def _made_at(set_id: str) -> str:
    """When the set was made: its id is that UTC time (what retention and listings go by)."""
    from datetime import datetime, timezone

    return datetime.strptime(set_id, "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc).isoformat()


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1][:300] if lines else "no message"


def _hint(said: str) -> str:
    if "wrong password" in said:
        return "this host's restic password is not the repository's: copy the password file from the host that " \
               "made it (README: Security)"
    if "Is there a repository" in said or "does not exist" in said or "unable to open config" in said:
        return "push a set first (stackctl backups push ID): the first push makes the repository"
    return "check STACKCTL_BACKUP_RESTIC_REPOSITORY, that the engine's host reaches it, and the backend's credentials"


@contextmanager
def helper(stack, *, create_password: bool = False):
    """restic's container for one command: started, given the password (and for sftp the ssh key
    and known hosts), removed at the end whatever happens."""
    engine, settings = stack.engine, stack.settings
    password = _password(stack, create_password)
    image = settings.restic_image
    if engine.image_id(image) is None:
        pulled = engine.cli(["pull", "-q", image], timeout=600)
        if pulled.returncode != 0:
            raise StackError(f"restic's image {image} is not on the engine and was not pulled: "
                             f"{_last_line(pulled.stderr)}", "set STACKCTL_RESTIC_IMAGE to an image with restic "
                             "(restic/restic), or load it (docker load -i FILE)")
    container = engine.create(image, entrypoint=["sleep"], command=["86400"], network="host",
                              labels={HELPER_LABEL: stack.name})
    try:
        engine.start(container)
        made = engine.exec(container, ["mkdir", "-p", "-m", "700", SECRETS, "/root/.ssh", INSIDE])
        if made.exit_code != 0:
            raise StackError(f"restic's container ({image}) could not make its folders: {_last_line(made.stderr)}",
                             "set STACKCTL_RESTIC_IMAGE to an image with restic and a shell (restic/restic)")
        engine.write_file(container, SECRETS, "restic.password", password)
        if settings.backup_restic_repository.startswith("sftp:"):
            _give_ssh(stack, container)
        yield Helper(stack, container)
    finally:
        engine.remove(container)


def _give_ssh(stack, container: str) -> None:
    """For restic's sftp backend: the key STACKCTL_BACKUP_SSH_KEY names and ~/.ssh/known_hosts
    (strict: a host not known there is refused), in root's ~/.ssh of the throwaway container."""
    key = stack.settings.backup_ssh_key
    if not key:
        raise StackError("a restic sftp: repository needs the ssh key restic's container should use",
                         "set STACKCTL_BACKUP_SSH_KEY=~/.ssh/id_ed25519 (a key the backup host accepts)", EXIT_USAGE)
    path = Path(key).expanduser()
    known = Path("~/.ssh/known_hosts").expanduser()
    if not path.is_file() or not known.is_file():
        raise StackError(f"no ssh key at {path} or no {known}",
                         "make the key (ssh-keygen), and ssh to the backup host once to record its host key", EXIT_USAGE)
    engine = stack.engine
    engine.write_file(container, "/root/.ssh", "id", path.read_bytes())
    engine.write_file(container, "/root/.ssh", "known_hosts", known.read_bytes())
    engine.write_file(container, "/root/.ssh", "config", b"Host *\n  IdentityFile /root/.ssh/id\n"
                      b"  StrictHostKeyChecking yes\n  BatchMode yes\n")


def _ensure_repository(h: Helper) -> None:
    probe = h.engine.read(h.container, ["restic", "--no-lock", "cat", "config"], env=h.env)
    if probe.exit_code == 0:
        return
    if "wrong password" in probe.stderr or not re.search(r"Is there a repository|does not exist|unable to open config"
                                                         r"|no such file", probe.stderr, re.I):
        raise StackError(f"restic cannot open {h.repository}: {_last_line(probe.stderr)}", _hint(probe.stderr))
    h.run("init", what="making the repository")


class _Limited:
    """A sink that keeps at most `limit` bytes and says when more came."""

    def __init__(self, limit: int):
        self.data, self.limit, self.over = bytearray(), limit, False

    def write(self, chunk: bytes) -> None:
        if len(self.data) + len(chunk) > self.limit:
            self.over = True
            raise StackError("larger than any manifest stackctl writes")
        self.data += chunk


def _pick(snapshots: list[Snapshot], backup_id: str, repository: str) -> Snapshot:
    matches = [s for s in snapshots if s.set_id == backup_id] or [s for s in snapshots if s.set_id.startswith(backup_id)]
    distinct = {s.set_id for s in matches}
    if len(distinct) != 1:
        raise StackError(f"{'no' if not distinct else 'more than one'} off-site backup '{backup_id}' in {repository}",
                         "list them with stackctl backups --remote", EXIT_USAGE)
    return matches[0]


def _manifest(h: Helper, snapshot: Snapshot) -> sets.BackupSet:
    sink = _Limited(MAX_MANIFEST)
    try:
        h.dump(snapshot, sets.MANIFEST, sink)
    except StackError as exc:
        if not sink.over:
            raise
        raise StackError(f"the off-site backup {snapshot.set_id}'s manifest is {exc.message}, nothing was touched",
                         "choose another: stackctl backups --remote", EXIT_USAGE) from None
    try:
        manifest = json.loads(bytes(sink.data))
    except ValueError:
        manifest = None
    checked = sets.checked_manifest(manifest, snapshot.set_id, f"the off-site backup {snapshot.set_id}")
    return sets.BackupSet(Path(f"{INSIDE}/{snapshot.set_id}"), checked)


def push(stack, backup_set: sets.BackupSet, report=None):
    """One snapshot of the set, every file read back there and compared, then retention there."""
    from stackctl.backup.remote import Pushed
    from stackctl.report import SILENT, Metered

    with helper(stack, create_password=True) as h:
        _ensure_repository(h)
        there = [s for s in h.snapshots() if s.set_id == backup_set.id]
        if not there:
            h.engine.put_tree(h.container, INSIDE, backup_set.path, backup_set.id,
                              meter=Metered(report or SILENT, f"push {backup_set.id}",
                                            sum(p.stat().st_size for p in backup_set.path.iterdir()
                                                if p.is_file() and not p.is_symlink())))
            h.run("backup", "--quiet", "--host", stack.name, "--tag", "stackctl", "--tag", f"stack:{stack.name}",
                  "--tag", f"set:{backup_set.id}", "--tag", f"kind:{backup_set.manifest.get('kind', 'manual')}",
                  f"{INSIDE}/{backup_set.id}", what=f"backup of set {backup_set.id}")
            there = [s for s in h.snapshots() if s.set_id == backup_set.id]
            if not there:
                raise StackError(f"restic said it stored set {backup_set.id} but lists no snapshot of it",
                                 "see restic snapshots in the repository; push again")
        snapshot = there[0]
        for _, meta in backup_set.files():
            if h.sha256_there(snapshot, meta["file"]) != meta["sha256"]:
                raise StackError(f"the off-site copy of {meta['file']} in {h.repository} does not match its checksum",
                                 f"push again: stackctl backups push {backup_set.id}")
        if h.sha256_there(snapshot, sets.MANIFEST) != sets.sha256_file(backup_set.path / sets.MANIFEST):
            raise StackError(f"the off-site copy of set {backup_set.id}'s manifest does not match",
                             f"push again: stackctl backups push {backup_set.id}")
        pruned = _retention(stack, h)
    return Pushed(backup_set.id, f"restic {h.repository} (snapshot {snapshot.id[:8]})", backup_set.size, pruned)


def _retention(stack, h: Helper) -> tuple[str, ...]:
    """stackctl's rules (older than KEEP_DAYS, or beyond the KEEP_COUNT newest; never the newest)
    on this stack's snapshots: the doomed ones forgotten and their data pruned."""
    listed = h.snapshots()
    as_sets = [sets.BackupSet(Path(INSIDE) / s.set_id, {"id": s.set_id, "created_at": s.time}) for s in listed]
    s = stack.settings
    doomed_ids = {b.id for b in sets.to_prune(as_sets, s.backup_keep_days, s.backup_keep_count)}
    doomed = [snap for snap in listed if snap.set_id in doomed_ids]
    if doomed:
        h.run("forget", "--prune", *[snap.id for snap in doomed], what="retention (forget --prune)")
    return tuple(sorted({snap.set_id for snap in doomed}))


def listing(stack):
    from stackctl.backup.remote import RemoteList

    with helper(stack) as h:
        snapshots = h.snapshots()
    return RemoteList(f"restic {stack.settings.backup_restic_repository}",
                      tuple({"id": s.set_id, "created_at": s.time, "kind": s.kind, "bytes": None, "snapshot": s.id[:8]}
                            for s in snapshots))


def peek(stack, backup_id: str) -> sets.BackupSet:
    with helper(stack) as h:
        return _manifest(h, _pick(h.snapshots(), backup_id, h.repository))


class _Download:
    """One file written new into the partial folder: no larger than the manifest says, hashed as it comes."""

    def __init__(self, folder_fd: int, name: str, size: int):
        fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, sets.PRIVATE_FILE, dir_fd=folder_fd)
        self.out, self.size, self.written, self.digest = os.fdopen(fd, "wb"), size, 0, hashlib.sha256()
        self.name = name

    def write(self, chunk: bytes) -> None:
        self.written += len(chunk)
        if self.written > self.size:
            raise StackError(f"{self.name} is larger than the manifest says ({self.size} bytes)")
        self.digest.update(chunk)
        self.out.write(chunk)

    def close(self) -> None:
        self.out.flush()
        os.fsync(self.out.fileno())
        self.out.close()


def fetch(stack, backup_id: str, local_folder: Path) -> sets.BackupSet:
    """The set back into the local folder, checked, as `backup` would have left it."""
    from stackctl.backup.remote import fresh_folder

    with helper(stack) as h:
        snapshot = _pick(h.snapshots(), backup_id, h.repository)
        found = _manifest(h, snapshot)
        final = local_folder / found.id
        if (final / sets.MANIFEST).is_file():
            return sets.find_set(local_folder, found.id)
        sets.make_private_dir(local_folder)
        partial = local_folder / f"{sets.PARTIAL_PREFIX}{found.id}"
        folder_fd = fresh_folder(partial)
        try:
            problems = []
            for _, meta in found.files():
                sink = _Download(folder_fd, meta["file"], meta["bytes"])
                try:
                    h.dump(snapshot, meta["file"], sink)
                except StackError as exc:
                    problems.append(exc.message)
                    continue
                finally:
                    sink.close()
                if sink.written != meta["bytes"]:
                    problems.append(f"{meta['file']} is {sink.written} bytes, the manifest says {meta['bytes']}")
                elif sink.digest.hexdigest() != meta["sha256"]:
                    problems.append(f"{meta['file']} does not match its sha256 checksum")
            if problems:
                raise StackError(f"the off-site backup {found.id} is damaged, nothing was restored: "
                                 f"{'; '.join(problems)}", "choose another: stackctl backups --remote", EXIT_USAGE)
            sets.write_manifest(partial, found.manifest)
            partial.rename(final)
        except BaseException:
            import shutil

            shutil.rmtree(partial, ignore_errors=True)
            raise
        finally:
            os.close(folder_fd)
    return sets.find_set(local_folder, found.id)


def check(stack, read_data: bool = False) -> Checked:
    """`restic check`: the repository's structure, and with read_data every pack read and authenticated."""
    with helper(stack) as h:
        out = h.run("check", *(["--read-data"] if read_data else []), what="check")
    said = tuple(line for line in out.stdout.splitlines() if line.strip() and not line.startswith("using temporary"))
    return Checked(h.repository, read_data, said[-3:])
