#!/usr/bin/env bash
# The Python binding's tests: install the library into a temporary prefix and run pytest
# (Debian's python3-pytest) with SMOL_SSH_LIBRARY pointing at the installed library, against a
# private sshd. Run by `make test`.
source "$(dirname "$0")/lib.sh"
export SMOL_SSH_LIBRARY="$prefix/lib/libsmol_ssh.so.0"
python=/usr/bin/python3
"$python" -c "import pytest" 2>/dev/null || { echo "python: install python3-pytest (apt-get install -y python3-pytest)"; exit 1; }
target/release/examples/with_sshd "$python" -m pytest -q -p no:cacheprovider bindings/python/tests
