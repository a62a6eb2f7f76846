import os
import sys

import pytest

# The package under test: the checkout's, unless tests/python.sh installed one to test.
if not os.environ.get("SMOL_SSH_TEST_INSTALLED"):
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from smol_ssh import SSHClient  # noqa: E402


def guest():
    """The sshd that tests/python.sh (through with_sshd) points us at."""
    host = os.environ.get("SMOL_SSH_HOST")
    if not host:
        pytest.fail("SMOL_SSH_HOST is not set: run these tests through tests/python.sh")
    return dict(
        host=host,
        port=int(os.environ.get("SMOL_SSH_PORT", "22")),
        user=os.environ.get("SMOL_SSH_USER", "root"),
        key_path=os.environ.get("SMOL_SSH_KEY"),
        host_key_fingerprint=os.environ.get("SMOL_SSH_HOST_KEY"),
    )


@pytest.fixture
def ssh():
    with SSHClient(**guest()) as client:
        yield client
