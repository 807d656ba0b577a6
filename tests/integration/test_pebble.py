"""scripts/pebble.sh: Let's Encrypt's test ACME server on a docker network, as the `tls: acme`
tests and users trying ACME offline start it (issue 25)."""

from __future__ import annotations

import subprocess
import uuid
from pathlib import Path

from cryptography import x509

ROOT = Path(__file__).resolve().parents[2]


def _image(setting: str, default: str) -> str:
    images = ROOT / ".stackctl" / "images.env"
    found = [line.split("=", 1)[1] for line in images.read_text().splitlines()
             if line.startswith(f"{setting}=")] if images.is_file() else []
    return found[-1] if found else default


def _pebble(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    import os

    return subprocess.run(["bash", str(ROOT / "scripts" / "pebble.sh"), *args], capture_output=True, text=True,
                          timeout=300, env={**os.environ, **(env or {})})


def test_pebble_answers_on_its_network_by_name_and_prints_what_a_client_trusts(tmp_path):
    network = f"itpebble{uuid.uuid4().hex[:8]}"
    subprocess.run(["docker", "network", "create", network], check=True, capture_output=True)
    try:
        started = _pebble(network, env={"STACKCTL_PEBBLE_DIR": str(tmp_path)})
        assert started.returncode == 0, started.stderr
        said = dict(line.split("=", 1) for line in started.stdout.splitlines())
        assert said == {"STACKCTL_ACME_DIRECTORY": "https://pebble:14000/dir",
                        "STACKCTL_ACME_CA_FILE": str(tmp_path / "listener-ca.pem"),
                        "STACKCTL_ACME_ROOT_FILE": str(tmp_path / "root.pem")}

        # A client on the network reaches the directory by the alias, trusting only the listener CA.
        ask = ("import json, ssl, urllib.request; "
               "context = ssl.create_default_context(cafile='/acme/listener-ca.pem'); "
               "print(sorted(json.load(urllib.request.urlopen('https://pebble:14000/dir', context=context))))")
        client = subprocess.run(["docker", "run", "--rm", "--network", network, "-v", f"{tmp_path}:/acme:ro",
                                 _image("PYTHON_IMAGE", "python:3.11"), "python3", "-c", ask],
                                capture_output=True, text=True, timeout=120)
        assert client.returncode == 0, client.stderr
        assert all(key in client.stdout for key in ("'newAccount'", "'newNonce'", "'newOrder'", "'revokeCert'"))

        # The root that signs issued certificates: a self-signed CA, not the listener's CA.
        root = x509.load_pem_x509_certificate((tmp_path / "root.pem").read_bytes())
        listener_ca = x509.load_pem_x509_certificate((tmp_path / "listener-ca.pem").read_bytes())
        assert root.issuer == root.subject and root.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
        assert "Pebble Root CA" in root.subject.rfc4514_string()
        assert root.fingerprint(root.signature_hash_algorithm) != listener_ca.fingerprint(root.signature_hash_algorithm)

        # Asked again, the running server is kept: the same root (a restart would make a new one).
        again = _pebble(network, env={"STACKCTL_PEBBLE_DIR": str(tmp_path)})
        assert again.returncode == 0, again.stderr
        assert x509.load_pem_x509_certificate((tmp_path / "root.pem").read_bytes()) == root

        stopped = _pebble("--stop", network)
        assert stopped.returncode == 0
        left = subprocess.run(["docker", "ps", "-aq", "--filter", f"name=stackctl-pebble-{network}"],
                              capture_output=True, text=True).stdout.split()
        assert left == []
    finally:
        subprocess.run(["docker", "rm", "-f", f"stackctl-pebble-{network}"], capture_output=True)
        subprocess.run(["docker", "network", "rm", network], capture_output=True)


def test_a_network_that_does_not_exist_is_one_line_and_starts_nothing():
    network = f"itnonet{uuid.uuid4().hex[:8]}"
    run = _pebble(network)
    assert run.returncode == 2
    assert run.stderr.strip().splitlines() == [
        f"[pebble] no docker network '{network}': create it (docker network create {network}) or name one that exists"]
    assert run.stdout == ""
    assert subprocess.run(["docker", "ps", "-aq", "--filter", f"name=stackctl-pebble-{network}"],
                          capture_output=True, text=True).stdout.split() == []
    assert _pebble("no/such net").returncode == 2
