#!/usr/bin/env bash
# `make install`: copies what `make` built into $DESTDIR$PREFIX and never rebuilds (so
# `make && sudo make install` compiles as you, not as root; the Makefile builds first only
# when nothing was built). Installs
#   include/smol_ssh.h, include/smol_ssh.hpp
#   lib/libsmol_ssh.so.VERSION with its SONAME links, lib/libsmol_ssh.a
#   lib/pkgconfig/smol-ssh.pc           (outside the system's library folders its Libs carry
#                                        -Wl,-rpath, so programs find the library at run time)
#   lib/cmake/smol-ssh/                 (find_package(smol-ssh): smol-ssh::smol-ssh, ::static)
#   the Python package smol_ssh         (into PREFIX's site-packages; it loads this library)
# then runs ldconfig when it installed as root into a folder the dynamic linker searches.
# Arguments come from the Makefile's variables.
set -euo pipefail
: "${PREFIX:?}" "${VERSION:?}" "${SOVERSION:?}" "${RELEASE_DIR:?}" "${NATIVE_LIBS:?}"
DESTDIR="${DESTDIR:-}"
cd "$(dirname "$0")/.."

for built in "$RELEASE_DIR/libsmol_ssh.so" "$RELEASE_DIR/libsmol_ssh.a" "$NATIVE_LIBS"; do
  if [ ! -f "$built" ]; then
    echo "install: $built is missing: run \`make\` first (as yourself), then \`make install\`" >&2
    exit 1
  fi
done
newer=$(find src Cargo.toml Cargo.lock build.rs -newer "$RELEASE_DIR/libsmol_ssh.so" -print -quit)
[ -z "$newer" ] || echo "install: warning: $newer changed after the last build; run \`make\` to install it" >&2

prefix="${PREFIX%/}"
libdir="$prefix/lib"
dest="$DESTDIR"
install -d "$dest$prefix/include" "$dest$libdir/pkgconfig" "$dest$libdir/cmake/smol-ssh"
install -m 644 include/smol_ssh.h include/smol_ssh.hpp "$dest$prefix/include/"
install -m 755 "$RELEASE_DIR/libsmol_ssh.so" "$dest$libdir/libsmol_ssh.so.$VERSION"
ln -sf "libsmol_ssh.so.$VERSION" "$dest$libdir/libsmol_ssh.so.$SOVERSION"
ln -sf "libsmol_ssh.so.$SOVERSION" "$dest$libdir/libsmol_ssh.so"
install -m 644 "$RELEASE_DIR/libsmol_ssh.a" "$dest$libdir/"

# A folder the dynamic linker searches without help (ld.so's defaults and ld.so.conf).
system_libdir=false
case "$libdir" in /lib | /usr/lib | /lib64 | /usr/lib64) system_libdir=true ;; esac
if ! $system_libdir && cat /etc/ld.so.conf /etc/ld.so.conf.d/*.conf 2>/dev/null | grep -qxF "$libdir"; then
  system_libdir=true
fi
native=$(cat "$NATIVE_LIBS")
rpath=""
$system_libdir || rpath=" -Wl,-rpath,\${libdir}"
cat > "$dest$libdir/pkgconfig/smol-ssh.pc" <<PC
prefix=$prefix
exec_prefix=\${prefix}
libdir=\${exec_prefix}/lib
includedir=\${prefix}/include

Name: smol-ssh
Description: Run commands on VM guests over one persistent SSH connection
Version: $VERSION
Cflags: -I\${includedir}
Libs: -L\${libdir}$rpath -lsmol_ssh
Libs.private: $native
PC

# CMake wants library names: "-lssl -lcrypto" becomes "ssl;crypto".
cmake_native=$(echo "$native" | tr ' ' '\n' | sed -n 's/^-l//p' | paste -sd';')
sed -e "s|@VERSION@|$VERSION|g" -e "s|@SOVERSION@|$SOVERSION|g" -e "s|@NATIVE_LIBS@|$cmake_native|g" \
  scripts/cmake/smol-ssh-config.cmake.in > "$dest$libdir/cmake/smol-ssh/smol-ssh-config.cmake"
sed -e "s|@VERSION@|$VERSION|g" scripts/cmake/smol-ssh-config-version.cmake.in \
  > "$dest$libdir/cmake/smol-ssh/smol-ssh-config-version.cmake"

python="${PYTHON:-python3}"
if command -v "$python" >/dev/null; then
  site=$("$python" scripts/python-site.py "$prefix")
  install -d "$dest$site/smol_ssh"
  install -m 644 bindings/python/smol_ssh/*.py bindings/python/smol_ssh/py.typed "$dest$site/smol_ssh/"
  echo "install: Python package smol_ssh in $site"
else
  echo "install: $python not found; the Python package was not installed" >&2
fi

if $system_libdir; then
  if [ -z "$dest" ] && [ "$(id -u)" = 0 ]; then
    ldconfig
  elif [ -z "$dest" ]; then
    echo "install: run \`sudo ldconfig\` so programs find libsmol_ssh.so.$SOVERSION" >&2
  fi
else
  echo "install: $libdir is not a folder the dynamic linker searches. Programs built with" \
    "\`pkg-config --libs smol-ssh\` or find_package(smol-ssh) find the library through their" \
    "rpath; others need -Wl,-rpath,$libdir or LD_LIBRARY_PATH=$libdir." >&2
fi
