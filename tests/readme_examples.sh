#!/usr/bin/env bash
# Extracts the C, C++, Go and Python examples from README.md, builds each against the library
# installed into a temporary prefix, and runs each against a private sshd: each must print the
# guest's `uname -sr`. Run by `make test`.
source "$(dirname "$0")/lib.sh"
expected="exit 0: $(uname -sr)"

# The first fenced block of a language, e.g. block cpp.
block() { awk -v lang="$1" '$0 == "```" lang {on=1; next} on && /^```/ {exit} on {print}' README.md; }

check() { # name, program...
  local name="$1"; shift
  local out
  out=$("$runner" "$@" 2>"$work/$name.err") || { cat "$work/$name.err"; echo "readme: $name failed"; exit 1; }
  [ "$out" = "$expected" ] || { echo "readme: $name printed '$out', expected '$expected'"; exit 1; }
  echo "readme: the $name example ran"
}

block c > "$work/example.c"
cc -std=c11 -Wall -Wextra -Werror -pedantic "$work/example.c" -o "$work/example-c" \
  $(pkg-config --cflags --libs smol-ssh) -Wl,-rpath,"$prefix/lib"
check c "$work/example-c"

block cpp > "$work/example.cpp"
c++ -std=c++17 -Wall -Wextra -Werror -pedantic "$work/example.cpp" -o "$work/example-cpp" \
  $(pkg-config --cflags --libs smol-ssh) -Wl,-rpath,"$prefix/lib"
check cpp "$work/example-cpp"

if command -v go >/dev/null; then
  mkdir -p "$work/goexample"
  block go > "$work/goexample/main.go"
  cat > "$work/goexample/go.mod" <<MOD
module example
go 1.19
require github.com/smol-ssh/smol-ssh/bindings/go v0.0.0
replace github.com/smol-ssh/smol-ssh/bindings/go => $root/bindings/go
MOD
  (cd "$work/goexample" && GOPROXY=off GOFLAGS=-mod=mod GOCACHE="${GOCACHE:-$work/gocache}" \
    CGO_LDFLAGS="-Wl,-rpath,$prefix/lib" go build -o "$work/example-go" .)
  check go "$work/example-go"
else
  echo "readme: go not installed (apt-get install -y golang-go); Go example not run"; exit 1
fi

block python > "$work/example.py"
SMOL_SSH_LIBRARY="$prefix/lib/libsmol_ssh.so.0" PYTHONPATH="$root/bindings/python" \
  check python /usr/bin/python3 "$work/example.py"
