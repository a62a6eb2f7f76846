#!/usr/bin/env bash
# The reference client's documented examples (bindings/python/tests/reference_examples.py),
# unchanged but for the import, against a real sshd at the address they name: 172.16.0.2:22 in
# a network namespace of this script's own (unshare), root logging in through an ssh-agent
# holding a key made here, the host key pinned through SMOL_SSH_HOST_KEY. Needs root (for the
# namespace and port 22); otherwise it says so and skips. Run by `make test`.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" != 0 ]; then
  echo "reference_examples: skipped (needs root for a network namespace and port 22)"
  exit 0
fi
prefix="${SMOL_SSH_PREFIX:?run through make test (the installed library)}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
ssh-keygen -q -t ed25519 -N '' -f "$work/host" -C reference-host
ssh-keygen -q -t ed25519 -N '' -f "$work/client" -C reference-client
cp "$work/client.pub" "$work/authorized_keys"
cat > "$work/sshd_config" <<CONF
ListenAddress 172.16.0.2:22
HostKey $work/host
AuthorizedKeysFile $work/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
PidFile none
CONF
mkdir -p /run/sshd

# Everything below runs in the new namespace and ends with it (sshd and the agent included).
unshare --net --fork bash -euo pipefail -c '
  work="$1"; prefix="$2"
  ip link set lo up
  ip addr add 172.16.0.2/32 dev lo
  /usr/sbin/sshd -D -e -f "$work/sshd_config" 2> "$work/sshd.log" &
  sshd=$!
  eval "$(ssh-agent -s -a "$work/agent.sock")" > /dev/null
  trap "kill $sshd $SSH_AGENT_PID 2>/dev/null || true" EXIT
  ssh-add -q "$work/client"
  for _ in $(seq 100); do (exec 3<>/dev/tcp/172.16.0.2/22) 2>/dev/null && break; sleep 0.05; done
  export SMOL_SSH_HOST_KEY=$(ssh-keygen -lf "$work/host.pub" | cut -d" " -f2)
  export SMOL_SSH_LIBRARY="$prefix/lib"
  if ! out=$(PYTHONPATH=bindings/python /usr/bin/python3 bindings/python/tests/reference_examples.py 2>&1); then
    echo "$out"; cat "$work/sshd.log"; exit 1
  fi
  echo "$out" | sed "s/^/reference_examples: /"
' reference-examples "$work" "$prefix"
echo "reference_examples: passed against sshd at 172.16.0.2:22"
