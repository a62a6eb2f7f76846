#!/usr/bin/env bash
# `make install` into a temporary prefix, then build the C smoke program against the installed
# files through pkg-config twice, dynamically and statically, and the C++ example, and the same
# three through CMake's find_package(smol-ssh), and run all six against a private sshd. Also:
# `make install` never builds, and a DESTDIR stage holds the same tree. Run by `make test`.
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

# `make install` copies what `make` built: with cargo replaced by `false` it still works.
make -s install CARGO=false PREFIX="$work/again" >/dev/null 2>&1 \
  || { echo "install: make install tried to build"; exit 1; }
make -s install CARGO=false DESTDIR="$work/stage" PREFIX=/usr/local >/dev/null 2>&1
diff <(cd "$work/stage/usr/local" && find . -type f | sort) <(cd "$prefix" && find . -type f | sort) \
  || { echo "install: the DESTDIR stage differs from the prefix"; exit 1; }
grep -q '^Libs: -L${libdir} -lsmol_ssh$' "$work/stage/usr/local/lib/pkgconfig/smol-ssh.pc" \
  || { echo "install: a system prefix's smol-ssh.pc should carry no rpath"; exit 1; }

# No -Wl,-rpath of our own: for a custom prefix smol-ssh.pc carries it.
cc "${strict[@]}" examples-c/smoke.c -o "$work/smoke-dynamic" $(pkg-config --cflags --libs smol-ssh)
# -l:libsmol_ssh.a picks the static library although the shared one sits beside it.
cc "${strict[@]}" examples-c/smoke.c -o "$work/smoke-static" \
  $(pkg-config --cflags smol-ssh) \
  $(pkg-config --libs --static smol-ssh | sed 's/-lsmol_ssh\b/-l:libsmol_ssh.a/')
c++ -std=c++17 -Wall -Wextra -Werror -pedantic examples-c/example.cpp -o "$work/example-cpp" \
  $(pkg-config --cflags --libs smol-ssh)

# The CMake consumer (examples-c/cmake): shared, static and C++ through find_package.
cmake -S examples-c/cmake -B "$work/cmake" -DCMAKE_PREFIX_PATH="$prefix" \
  -DCMAKE_C_FLAGS="-Wall -Wextra -Werror" > "$work/cmake.log" 2>&1 \
  && cmake --build "$work/cmake" >> "$work/cmake.log" 2>&1 \
  || { cat "$work/cmake.log"; echo "install: the CMake consumer did not build"; exit 1; }
for program in smoke-shared smoke-static example-cpp; do cp "$work/cmake/$program" "$work/cmake-$program"; done
if readelf -d "$work/cmake-smoke-static" | grep -q 'NEEDED.*libsmol_ssh'; then
  echo "install: the CMake static build still needs the shared library"; exit 1
fi

readelf -d "$work/smoke-dynamic" | grep -q 'NEEDED.*libsmol_ssh.so.0' \
  || { echo "install: the dynamic build does not need libsmol_ssh.so.0"; exit 1; }
if readelf -d "$work/smoke-static" | grep -q 'NEEDED.*libsmol_ssh'; then
  echo "install: the static build still needs the shared library"; exit 1
fi

for program in smoke-dynamic smoke-static example-cpp cmake-smoke-shared cmake-smoke-static cmake-example-cpp; do
  if ! "$runner" "$work/$program" > "$work/$program.log" 2>&1; then
    cat "$work/$program.log"; echo "install: $program failed"; exit 1
  fi
  grep -q "PASSED: 0 failure" "$work/$program.log"
  echo "install: $program passed against sshd"
done
