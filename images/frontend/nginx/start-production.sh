#!/bin/sh
# Production nginx. The HTTP->HTTPS redirect must keep a non-default HTTPS port (compose passes
# HTTPS_PORT in); nginx cannot read its environment, so the port becomes a config include.
set -e
mkdir -p /tmp/stackctl-nginx
case "${HTTPS_PORT:-443}" in
  443) ;;
  *[!0-9]*) echo "HTTPS_PORT=$HTTPS_PORT is not a port number" >&2; exit 2 ;;
  *) printf 'set $https_port_suffix ":%s";\n' "$HTTPS_PORT" > /tmp/stackctl-nginx/https-port.inc ;;
esac
# The rate limit is per client address: the peer's, or behind a load balancer or CDN listed in
# TRUSTED_PROXIES (addresses or CIDRs, space or comma separated) the one its X-Forwarded-For names.
case "${API_RATE_LIMIT:-50}" in
  ''|*[!0-9]*|0) echo "API_RATE_LIMIT=$API_RATE_LIMIT is not a number of requests per second" >&2; exit 2 ;;
esac
case "${CONN_LIMIT_PER_CLIENT:-100}" in
  ''|*[!0-9]*|0) echo "CONN_LIMIT_PER_CLIENT=$CONN_LIMIT_PER_CLIENT is not a number of connections" >&2; exit 2 ;;
esac
printf 'limit_conn perclient %s;\n' "${CONN_LIMIT_PER_CLIENT:-100}" > /tmp/stackctl-nginx/conn-limit.inc
{
  printf 'limit_req_zone $binary_remote_addr zone=api:10m rate=%sr/s;\n' "${API_RATE_LIMIT:-50}"
  for proxy in $(echo "${TRUSTED_PROXIES:-}" | tr ',' ' '); do
    case "$proxy" in
      *[!0-9a-fA-F.:/]*) echo "TRUSTED_PROXIES: $proxy is not an address or CIDR" >&2; exit 2 ;;
      */[0-7]|*/0*) echo "TRUSTED_PROXIES: $proxy trusts a large part of the Internet: any client there" \
        "could name itself another (list the load balancer's own addresses)" >&2; exit 2 ;;
    esac
    printf 'set_real_ip_from %s;\n' "$proxy"
  done
  if [ -n "${TRUSTED_PROXIES:-}" ]; then
    printf 'real_ip_header X-Forwarded-For;\nreal_ip_recursive on;\n'
  fi
} > /tmp/stackctl-nginx/limits.inc
exec nginx "$@"
