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
exec nginx "$@"
