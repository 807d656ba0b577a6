#!/usr/bin/env bash
# For the remote-deploy test: an sshd on this machine's loopback (127.0.0.1:2222) that root
# can reach with a key of its own, so DOCKER_HOST=ssh://root@127.0.0.1:2222 exercises the
# real ssh path of docker, compose and stackctl. Idempotent; prints the DOCKER_HOST to use.
set -euo pipefail
PORT="${STACKCTL_TEST_SSH_PORT:-2222}"
KEY="$HOME/.ssh/stackctl_loopback"
say() { printf '[sshd] %s\n' "$*" >&2; }

if ! command -v sshd >/dev/null 2>&1 && [ ! -x /usr/sbin/sshd ]; then
  say "installing openssh-server"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends openssh-server >/dev/null
fi
mkdir -p "$HOME/.ssh" /run/sshd
chmod 700 "$HOME/.ssh"
[ -f "$KEY" ] || ssh-keygen -q -t ed25519 -N "" -f "$KEY"
grep -qF "$(cat "$KEY.pub")" "$HOME/.ssh/authorized_keys" 2>/dev/null || cat "$KEY.pub" >> "$HOME/.ssh/authorized_keys"
chmod 600 "$HOME/.ssh/authorized_keys"
ssh-keygen -A >/dev/null
if ! (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then
  say "starting sshd on 127.0.0.1:$PORT"
  /usr/sbin/sshd -p "$PORT" -o ListenAddress=127.0.0.1 -o PermitRootLogin=prohibit-password \
    -o PasswordAuthentication=no
  for _ in $(seq 1 50); do (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break; sleep 0.1; done
fi
if ! grep -q "stackctl-loopback" "$HOME/.ssh/config" 2>/dev/null; then
  cat >> "$HOME/.ssh/config" <<CFG
# stackctl-loopback: the remote-deploy test's ssh target
Host 127.0.0.1
  IdentityFile $KEY
  StrictHostKeyChecking accept-new
  UserKnownHostsFile $HOME/.ssh/known_hosts
CFG
fi
ssh -o BatchMode=yes -p "$PORT" root@127.0.0.1 true
echo "ssh://root@127.0.0.1:$PORT"
