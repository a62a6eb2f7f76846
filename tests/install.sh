#!/usr/bin/env bash
# `make install` into a temporary prefix, then build the C smoke program against the installed
# files through pkg-config twice, dynamically and statically, and the C++ example, and run all
# three against a private sshd. Run by `make test`.
source "$(dirname "$0")/lib.sh"
lib="$prefix/lib"
strict=(-std=c11 -Wall -Wextra -Werror -pedantic)

readelf -d "$lib/libsmol_ssh.so.0" | grep -q 'SONAME.*\[libsmol_ssh.so.0\]' \
  || { echo "install: wrong SONAME"; exit 1; }
[ "$(readlink "$lib/libsmol_ssh.so")" = libsmol_ssh.so.0 ] || { echo "install: bad .so link"; exit 1; }

# pkg-config --static must yield exactly the Libs.private that scripts/pkgconfig.sh took from
# rustc's --print native-static-libs.
pc_private=$(pkg-config --libs-only-l --static smol-ssh | tr ' ' '\n' | grep -v '^-lsmol_ssh$' | xargs)
rustc_says=$(grep '^Libs.private:' "$PKG_CONFIG_PATH/smol-ssh.pc" | cut -d' ' -f2- | xargs)
[ "$pc_private" = "$rustc_says" ] || { echo "install: Libs.private mismatch: $pc_private vs $rustc_says"; exit 1; }

cc "${strict[@]}" examples-c/smoke.c -o "$work/smoke-dynamic" \
  $(pkg-config --cflags --libs smol-ssh) -Wl,-rpath,"$lib"
# -l:libsmol_ssh.a picks the static library although the shared one sits beside it.
cc "${strict[@]}" examples-c/smoke.c -o "$work/smoke-static" \
  $(pkg-config --cflags smol-ssh) \
  $(pkg-config --libs --static smol-ssh | sed 's/-lsmol_ssh\b/-l:libsmol_ssh.a/')
c++ -std=c++17 -Wall -Wextra -Werror -pedantic examples-c/example.cpp -o "$work/example-cpp" \
  $(pkg-config --cflags --libs smol-ssh) -Wl,-rpath,"$lib"

readelf -d "$work/smoke-dynamic" | grep -q 'NEEDED.*libsmol_ssh.so.0' \
  || { echo "install: the dynamic build does not need libsmol_ssh.so.0"; exit 1; }
if readelf -d "$work/smoke-static" | grep -q 'NEEDED.*libsmol_ssh'; then
  echo "install: the static build still needs the shared library"; exit 1
fi

for program in smoke-dynamic smoke-static example-cpp; do
  if ! "$runner" "$work/$program" > "$work/$program.log" 2>&1; then
    cat "$work/$program.log"; echo "install: $program failed"; exit 1
  fi
  grep -q "PASSED: 0 failure" "$work/$program.log"
  echo "install: $program passed against sshd"
done
