#!/usr/bin/env bash
# The Go binding: install the library into a temporary prefix, then `go vet` and `go test`
# (Debian's golang-go, standard library only) through pkg-config, against a private sshd.
# Run by `make test`.
source "$(dirname "$0")/lib.sh"
command -v go >/dev/null || { echo "go: install golang-go (apt-get install -y golang-go)"; exit 1; }
export CGO_LDFLAGS="-Wl,-rpath,$prefix/lib"
export GOPROXY=off GOFLAGS=-mod=mod GOCACHE="${GOCACHE:-$work/gocache}"
cd bindings/go
go vet ./...
"$runner" go test -count=1 ./...
