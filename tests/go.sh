#!/usr/bin/env bash
# The Go binding: `go vet` and `go test` (Debian's golang-go, standard library only) through
# pkg-config, against a private sshd; then the example module (examples-go) adopted the way
# the README says a user does it: copied out of the checkout, `go mod edit -replace` to the
# binding, PKG_CONFIG_PATH to the install, and nothing else (smol-ssh.pc carries the rpath, so
# no LD_LIBRARY_PATH). Run by `make test`.
source "$(dirname "$0")/lib.sh"
command -v go >/dev/null || { echo "go: install golang-go (apt-get install -y golang-go)"; exit 1; }
export GOPROXY=off GOFLAGS=-mod=mod GOCACHE="${GOCACHE:-$work/gocache}"
(
  cd bindings/go
  go vet ./...
  "$runner" go test -count=1 ./...
)

cp -r examples-go "$work/myapp"
cd "$work/myapp"
go mod edit -replace "github.com/smol-ssh/smol-ssh/bindings/go=$root/bindings/go"
go vet ./...
go build -o smolssh-example .
out=$(env -u LD_LIBRARY_PATH "$runner" ./smolssh-example 2>&1) || { echo "$out"; echo "go: the example module failed"; exit 1; }
echo "$out" | grep -q "^exit 0: hello from Linux$" || { echo "$out"; echo "go: unexpected output"; exit 1; }
echo "$out" | grep -q "smol-ssh info: connected to" || { echo "$out"; echo "go: the example's log is missing"; exit 1; }
echo "go: the example module (replace + PKG_CONFIG_PATH only) built and ran against sshd"
