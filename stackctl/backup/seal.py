"""Authenticated sets: an HMAC-SHA256 (Python's hmac, not hand-made crypto) over each manifest,
keyed by a secret kept on this host, outside the backup folder. The manifest holds the sha256 of
every file of the set, so the MAC covers the files too: a set changed after it was made, or
made by someone without the key, does not verify.

The key is made at the first backup: 32 random bytes, hex, in `STACKCTL_BACKUP_KEY_FILE`
(default `.stackctl/backup.key`), mode 0600, created new (never over a file, never through a
link). A new host restores this host's sets once the same file is copied there (README: Security).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
from pathlib import Path

from stackctl.errors import EXIT_USAGE, StackError

ALGORITHM = "hmac-sha256"
KEY_BYTES = 32
ACCEPT_FLAG = "--accept-unauthenticated-set"


def key_path(project, settings) -> Path:
    path = Path(settings.backup_key_file)
    return path if path.is_absolute() else project.root / path


def load_key(path: Path, create: bool = False) -> bytes | None:
    """The key, made first when `create` and there is none; None when there is none."""
    if create and not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        except FileExistsError:
            pass  # made by another backup at the same moment: read it
        else:
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_hex(KEY_BYTES) + "\n")
                f.flush()
                os.fsync(f.fileno())
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise StackError(f"the backup key {path} cannot be read: {exc.strerror}",
                         "it must be a plain file owned by the user who runs stackctl", EXIT_USAGE) from None
    with os.fdopen(fd) as f:
        if os.fstat(f.fileno()).st_mode & 0o077:
            raise StackError(f"the backup key {path} is readable by others", f"chmod 600 {path}", EXIT_USAGE)
        text = f.read().strip()
    try:
        key = bytes.fromhex(text)
    except ValueError:
        key = b""
    if len(key) != KEY_BYTES:
        raise StackError(f"the backup key {path} is not {KEY_BYTES} bytes of hex",
                         "restore it from where you keep it (README: Security)", EXIT_USAGE)
    return key


def key_id(key: bytes) -> str:
    """Names the key without revealing it (which key signed a set)."""
    return hashlib.sha256(b"stackctl backup key id\0" + key).hexdigest()[:16]


def _canonical(manifest: dict) -> bytes:
    return json.dumps({k: v for k, v in manifest.items() if k != "mac"}, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=True).encode()


def signed(manifest: dict, key: bytes) -> dict:
    value = hmac.new(key, _canonical(manifest), hashlib.sha256).hexdigest()
    return {**manifest, "mac": {"alg": ALGORITHM, "key": key_id(key), "value": value}}


def problem(manifest: dict, key: bytes | None) -> str | None:
    """Why a manifest is not authenticated by this host's key, or None when it is."""
    mac = manifest.get("mac")
    if not isinstance(mac, dict) or not isinstance(mac.get("value"), str):
        return "it carries no MAC (made before stackctl authenticated sets, or not by stackctl)"
    if key is None:
        return "this host has no backup key to check its MAC with"
    if mac.get("alg") != ALGORITHM:
        return f"its MAC is of an unknown kind ({str(mac.get('alg'))[:20]!r})"
    if mac.get("key") != key_id(key):
        return f"it was made with another backup key ({str(mac.get('key'))[:16]}; this host's is {key_id(key)})"
    expected = hmac.new(key, _canonical(manifest), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, mac["value"]):
        return "its manifest was changed after it was made (the MAC does not match)"
    return None


def require(manifest: dict, key: bytes | None, where: str, accept: bool) -> None:
    """A usage error unless the manifest is authenticated, or the user said they accept it is not."""
    why = problem(manifest, key)
    if why and not accept:
        raise StackError(f"{where} is not authenticated by this host's backup key, nothing was touched: {why}",
                         f"copy the key from the host that made it (README: Security), or, if you trust this set "
                         f"anyway, add {ACCEPT_FLAG}", EXIT_USAGE)
