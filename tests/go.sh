#!/usr/bin/env bash
# The Go binding: install the library into a temporary prefix, then `go vet` and `go test`
# (Debian's golang-go, standard library only) through pkg-config, against a private sshd.
# Run by `make test`.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v go >/dev/null || { echo "go: install golang-go (apt-get install -y golang-go)"; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
prefix="${SMOL_SSH_PREFIX:-$work/prefix}"
[ -n "${SMOL_SSH_PREFIX:-}" ] || make -s install PREFIX="$prefix" >/dev/null
cargo build --quiet --release --example with_sshd
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
export CGO_LDFLAGS="-Wl,-rpath,$prefix/lib"
export GOPROXY=off GOFLAGS=-mod=mod GOCACHE="${GOCACHE:-$work/gocache}"
runner="$PWD/target/release/examples/with_sshd"
cd bindings/go
go vet ./...
"$runner" go test -count=1 ./...
