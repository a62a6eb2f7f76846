#!/usr/bin/env bash
# What `make bench` needs beyond `make test`: libssh (C) and Go's x/crypto/ssh from Debian,
# and paramiko + asyncssh in a private venv (build/bench-venv).
set -euo pipefail
cd "$(dirname "$0")/.."
missing=()
for pkg in libssh-dev golang-golang-x-crypto-dev python3-venv; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  if [ "$(id -u)" = 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "bench: install ${missing[*]} (sudo apt-get install -y ${missing[*]})" >&2
    exit 1
  fi
fi
if [ ! -x build/bench-venv/bin/python ] || ! build/bench-venv/bin/python -c "import paramiko, asyncssh" 2>/dev/null; then
  echo "bench: making build/bench-venv with paramiko and asyncssh"
  /usr/bin/python3 -m venv build/bench-venv
  build/bench-venv/bin/pip install -q paramiko asyncssh
fi
