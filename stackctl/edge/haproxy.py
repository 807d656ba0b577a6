"""The edge's HAProxy configuration, as text: a pure function of what stackctl.yaml's `edge:` and
the roles say, compared as text in unit tests.

What it does, and why (figures in ../shared/ENGINE.md and bench/README):
- Port 80 answers ACME's HTTP-01 challenges (sent to lego on 127.0.0.1:8402) and redirects every
  other request to HTTPS (308: a POST stays a POST).
- Port 443 terminates TLS (1.2 and 1.3, the reference nginx's AEAD suites), speaks HTTP/2 and
  HTTP/1.1, adds HSTS, and forwards to the user's proxy: the client's own X-Forwarded-For,
  X-Real-IP and Forwarded are deleted and X-Forwarded-For set to the address the connection came
  from, with X-Forwarded-Proto https and X-Forwarded-Host.
- The user's proxy is found by its compose service name through Docker's DNS (every running
  container of the service, re-resolved each second), each checked on its health path, so a new
  proxy container is taken in once it answers and a drained one (stackctl.edge.runtime) is left
  alone; a connection refused by a container going away is retried on another (redispatch).
- Reloads (a new certificate, new hosts) go through the master process, which hands the listening
  sockets to the new worker; `idle-close-on-response` closes an idle client connection only after
  an answer, and the servers' runtime state (a drain) is carried over in the server-state file.
"""

from __future__ import annotations

from dataclasses import dataclass

CIPHERS = ("ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
           "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305")
BACKEND = "proxy"
SLOTS = 4  # proxy containers the edge can send to at once (a rollout runs two)
ACME_PORT = 8402
CONF_DIR = "/etc/stackctl-edge"
STATE_DIR = "/var/lib/stackctl-edge"
HSTS_SECONDS = 63072000  # two years, as hstspreload.org asks


@dataclass(frozen=True)
class EdgeConfig:
    hosts: tuple[str, ...]
    tls: str  # acme | internal | files
    upstream: str  # the user's proxy (or app) service name
    upstream_port: int
    upstream_tls: bool
    health: str  # the upstream's health path
    https_port: int  # the host's HTTPS port (the redirect names it when it is not 443)


def certificates(config: EdgeConfig) -> str:
    """Where HAProxy loads the certificates it serves: stackctl's files, or lego's."""
    return f"{STATE_DIR}/certs/" if config.tls == "acme" else f"{CONF_DIR}/certs/"


def render(config: EdgeConfig) -> str:
    port = "" if config.https_port == 443 else f":{config.https_port}"
    server_tls = " ssl verify none alpn http/1.1 check-ssl" if config.upstream_tls else ""
    lines = [
        "# Written by stackctl from stackctl.yaml's edge: (README, \"Production\"). Do not edit: `stackctl up`",
        "# writes it again.",
        "global",
        "    master-worker",
        "    stats socket /run/haproxy.sock mode 600 level admin expose-fd listeners",
        f"    server-state-file {STATE_DIR}/server-state",
        "    user haproxy",
        "    group haproxy",
        "    ssl-default-bind-options ssl-min-ver TLSv1.2 no-tls-tickets",
        f"    ssl-default-bind-ciphers {CIPHERS}",
        "    log stdout format raw local0 notice",
        "",
        "resolvers docker",
        "    nameserver dns 127.0.0.11:53",
        "    accepted_payload_size 8192",
        "    hold valid 1s",
        "    hold other 1s",
        "    hold refused 1s",
        "    hold nx 1s",
        "    hold timeout 1s",
        "    hold obsolete 0s",
        "",
        "defaults",
        "    mode http",
        "    log global",
        "    option idle-close-on-response",
        "    option redispatch",
        "    retries 3",
        "    timeout connect 5s",
        "    timeout client 60s",
        "    timeout server 60s",
        "    timeout http-request 10s",
        "    timeout http-keep-alive 30s",
        "    load-server-state-from-file global",
        "",
        "frontend http",
        "    bind :80",
        "    monitor-uri /stackctl-edge/health",
        "    acl acme path_beg /.well-known/acme-challenge/",
        "    use_backend acme if acme",
        f"    http-request redirect location https://%[req.hdr(host),field(1,:)]{port}%[capture.req.uri] code 308 "
        "unless acme",
        "",
        "frontend https",
        f"    bind :443 ssl crt {certificates(config)} alpn h2,http/1.1",
        "    http-request del-header X-Forwarded-For",
        "    http-request del-header X-Real-IP",
        "    http-request del-header Forwarded",
        "    option forwardfor",
        "    http-request set-header X-Forwarded-Proto https",
        "    http-request set-header X-Forwarded-Host %[req.hdr(host)]",
        f"    http-response set-header Strict-Transport-Security \"max-age={HSTS_SECONDS}\"",
        f"    default_backend {BACKEND}",
        "",
        f"backend {BACKEND}",
        f"    option httpchk GET {config.health or '/'}",
        "    http-check expect status 200-399" if not config.health else "    http-check expect status 200",
        "    # A proxy slow under load is slow, not down: a check's connect may take up to `inter` (checks",
        "    # every second marked the only proxy DOWN under load on 2 cores), and three in a row must fail.",
        "    timeout check 5s",
        "    default-server inter 2s fastinter 1s fall 3 rise 1 init-addr last,none resolvers docker",
        f"    server-template {config.upstream} 1-{SLOTS} {config.upstream}:{config.upstream_port} check{server_tls}",
        "",
        "backend acme",
        f"    server lego 127.0.0.1:{ACME_PORT}",
    ]
    return "\n".join(lines) + "\n"
