#!/usr/bin/env bash
# Prints the native libraries a program linking libsmol_ssh.a needs, as rustc states them
# (`--print native-static-libs`, e.g. "-lssl -lcrypto -lz -lgcc_s ..."). rustc says it only when
# it compiles the crate, so this compiles it once in its own target folder (a debug build,
# ~10 s; the list depends on the dependencies, not on the profile). `make release` keeps the
# answer in target/native-static-libs and asks again only when Cargo.toml or Cargo.lock change.
set -euo pipefail
cargo="${CARGO:-cargo}"
out=$(CARGO_TARGET_DIR="${1:?usage: native-static-libs.sh TARGET_DIR}" \
  "$cargo" rustc --quiet --lib -- --print native-static-libs 2>&1) || { echo "$out" >&2; exit 1; }
native=$(echo "$out" | sed -n 's/.*native-static-libs: //p' | head -n 1)
[ -n "$native" ] || { echo "native-static-libs.sh: rustc printed no native-static-libs" >&2; exit 1; }
echo "$native"
