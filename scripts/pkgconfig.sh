#!/usr/bin/env bash
# Writes smol-ssh.pc for PREFIX and VERSION to stdout. Libs.private is what rustc says a program
# linking the static library needs (`--print native-static-libs`), asked of a fresh build of
# this crate (rustc prints it only when it compiles).
set -euo pipefail
prefix="$1"
version="$2"
cargo="${CARGO:-cargo}"
"$cargo" clean --quiet --release -p smol-ssh
native=$("$cargo" rustc --quiet --release --lib -- --print native-static-libs 2>&1 \
  | sed -n 's/.*native-static-libs: //p' | head -n 1)
[ -n "$native" ] || { echo "pkgconfig.sh: rustc printed no native-static-libs" >&2; exit 1; }
cat <<PC
prefix=$prefix
exec_prefix=\${prefix}
libdir=\${exec_prefix}/lib
includedir=\${prefix}/include

Name: smol-ssh
Description: Run commands on VM guests over one persistent SSH connection
Version: $version
Cflags: -I\${includedir}
Libs: -L\${libdir} -lsmol_ssh
Libs.private: $native
PC
