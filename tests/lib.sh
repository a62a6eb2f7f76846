# Shared by the binding test scripts: a temporary work directory, the library installed into a
# prefix (SMOL_SSH_PREFIX when `make test` already made one), and the private-sshd runner.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
prefix="${SMOL_SSH_PREFIX:-$work/prefix}"
[ -n "${SMOL_SSH_PREFIX:-}" ] || make -s release install PREFIX="$prefix" >/dev/null
cargo build --quiet --release --example with_sshd
runner="$root/target/release/examples/with_sshd"
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
