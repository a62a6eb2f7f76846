#!/usr/bin/env bash
# The Python package, every way a user gets it, against private sshds (Debian's python3,
# python3-pytest and python3-venv; pip fetches setuptools-rust from PyPI). Run by `make test`.
#   1. the checkout's package, SMOL_SSH_LIBRARY naming the installed library's folder;
#   2. the package `make install` put in PREFIX, finding PREFIX's library by itself;
#   3. `pip install ./bindings/python` in a fresh venv: cargo builds the library, the package
#      bundles it;
#   4. `pip wheel`: the wheel holds the library and works in another fresh venv;
#   5. SMOL_SSH_BUNDLE=0 with no library anywhere: importing raises a clear ImportError.
source "$(dirname "$0")/lib.sh"
python=/usr/bin/python3
"$python" -c "import pytest" 2>/dev/null || { echo "python: install python3-pytest (apt-get install -y python3-pytest)"; exit 1; }
"$python" -c "import ensurepip" 2>/dev/null || { echo "python: install python3-venv (apt-get install -y python3-venv)"; exit 1; }
trap 'rm -rf "$work" bindings/python/build bindings/python/smol_ssh.egg-info' EXIT
site=$("$python" scripts/python-site.py "$prefix")
suite() { # PYTHON [TESTS...]
  local py="$1"; shift
  "$runner" "$py" -m pytest -q -p no:cacheprovider "${@:-bindings/python/tests}"
}

echo "python: 1. the checkout's package, SMOL_SSH_LIBRARY=$prefix/lib"
SMOL_SSH_LIBRARY="$prefix/lib" SMOL_SSH_EXPECT_LIBRARY="$prefix/lib" suite "$python"

echo "python: 2. make install's package in $site"
PYTHONPATH="$site" SMOL_SSH_TEST_INSTALLED=1 SMOL_SSH_EXPECT_LIBRARY="$prefix/lib" suite "$python"

echo "python: 3. pip install ./bindings/python in a fresh venv"
# The system's site-packages only for pytest and paramiko; the venv's own smol_ssh comes first.
"$python" -m venv --system-site-packages "$work/venv"
"$work/venv/bin/pip" install -q --disable-pip-version-check ./bindings/python
SMOL_SSH_TEST_INSTALLED=1 SMOL_SSH_EXPECT_LIBRARY="$work/venv/lib" suite "$work/venv/bin/python"

echo "python: 4. a wheel in another fresh venv"
"$work/venv/bin/pip" wheel -q --disable-pip-version-check --no-deps -w "$work/wheels" ./bindings/python
wheel=$(ls "$work"/wheels/smol_ssh-*.whl)
# One wheel for every Python 3 of the platform: the library is loaded with ctypes.
case "$wheel" in *-py3-none-linux_*.whl) ;; *) echo "python: unexpected wheel tag: $wheel"; exit 1 ;; esac
"$python" -m zipfile -l "$wheel" | grep -q 'smol_ssh/_libsmol_ssh.*\.so' \
  || { echo "python: the wheel does not hold the library"; exit 1; }
"$python" -m venv --system-site-packages "$work/venv-wheel"
"$work/venv-wheel/bin/pip" install -q --disable-pip-version-check "$wheel"
SMOL_SSH_TEST_INSTALLED=1 SMOL_SSH_EXPECT_LIBRARY="$work/venv-wheel/lib" \
  suite "$work/venv-wheel/bin/python" bindings/python/tests/test_compat.py

echo "python: 5. without a library"
"$python" -m venv "$work/venv-bare"
SMOL_SSH_BUNDLE=0 "$work/venv-bare/bin/pip" install -q --disable-pip-version-check ./bindings/python
bare() { (cd "$work" && env -u SMOL_SSH_LIBRARY -u LD_LIBRARY_PATH "$@"); }
if bare "$work/venv-bare/bin/python" -c 'import ctypes.util, sys; sys.exit(ctypes.util.find_library("smol_ssh") is None)'; then
  echo "python: skipped the missing-library check: this machine has libsmol_ssh installed"
else
  out=$(bare "$work/venv-bare/bin/python" -c 'import smol_ssh' 2>&1) && { echo "python: imported without a library"; exit 1; }
  echo "$out" | grep -q "ImportError: smol_ssh needs the native library libsmol_ssh.so" \
    || { echo "$out"; echo "python: no clear ImportError without a library"; exit 1; }
  bare env SMOL_SSH_LIBRARY="$prefix/lib" "$work/venv-bare/bin/python" -c 'import smol_ssh; print("python: SMOL_SSH_LIBRARY=<folder> loads", smol_ssh.library_path)'
fi
