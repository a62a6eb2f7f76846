#!/usr/bin/env bash
# Makes sure the tools `make test` and `make demo` need are here. As root it installs missing
# Debian packages with apt-get and the pinned cbindgen with cargo; otherwise it says exactly
# what to install and fails.
set -euo pipefail

CBINDGEN_VERSION="${CBINDGEN_VERSION:-0.29.4}"
PACKAGES=(openssh-server openssh-client libssl-dev zlib1g-dev pkg-config gcc g++ make cmake binutils valgrind
  python3 python3-pytest python3-paramiko python3-venv golang-go iproute2)

missing=()
for pkg in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  if [ "$(id -u)" = 0 ]; then
    echo "deps: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "deps: missing Debian packages: ${missing[*]}" >&2
    echo "deps: install them with: sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
fi

if ! command -v cargo >/dev/null; then
  echo "deps: cargo not found: install Rust (https://rustup.rs), then run this again" >&2
  exit 1
fi

cbindgen="$(command -v cbindgen || true)"
[ -n "$cbindgen" ] || cbindgen="${CARGO_HOME:-$HOME/.cargo}/bin/cbindgen"
if ! "$cbindgen" --version 2>/dev/null | grep -qx "cbindgen $CBINDGEN_VERSION"; then
  echo "deps: installing cbindgen $CBINDGEN_VERSION (about 1.5 minutes)"
  cargo install --locked --quiet cbindgen --version "$CBINDGEN_VERSION"
fi
