"""File operations and SFTP transfers from Python, against the real sshd."""

import os
import tempfile

import pytest

import smol_ssh
from smol_ssh import SSHClient
from conftest import guest


@pytest.fixture
def shared():
    # A folder the guest account may write (the sshd runs on this machine).
    d = tempfile.mkdtemp(prefix="smol-ssh-pyfiles-")
    os.chmod(d, 0o777)
    yield d
    for root, dirs, files in os.walk(d, topdown=False):
        for f in files:
            os.unlink(os.path.join(root, f))
        for sub in dirs:
            os.rmdir(os.path.join(root, sub))
    os.rmdir(d)


def test_file_operations(shared):
    with SSHClient(**guest()) as c:
        odd = os.path.join(shared, "-it's a\nname")
        c.mkdir(os.path.join(odd, "deeper"), parents=True)
        assert c.exists(odd) and c.stat(odd).is_dir
        with open(os.path.join(shared, "f.txt"), "w") as f:
            f.write("12345")
        os.chmod(os.path.join(shared, "f.txt"), 0o640)
        info = c.stat(os.path.join(shared, "f.txt"))
        assert (info.type, info.size, info.permissions, info.mode) == ("file", 5, 0o640, 0o640)
        assert info.mtime == info.modified and info.mtime > 1_600_000_000
        names = sorted(e.name for e in c.list_dir(shared))
        assert names == sorted(["-it's a\nname", "f.txt"])
        c.rename(os.path.join(shared, "f.txt"), os.path.join(shared, "g.txt"))
        assert not c.exists(os.path.join(shared, "f.txt"))
        with pytest.raises(smol_ssh.NotFound) as e:
            c.stat(os.path.join(shared, "f.txt"))
        assert isinstance(e.value, FileNotFoundError) and isinstance(e.value, smol_ssh.RemoteFailed)
        with pytest.raises(smol_ssh.NotADirectory):
            c.list_dir(os.path.join(shared, "g.txt"))
        with pytest.raises(NotADirectoryError):
            c.remove_dir(os.path.join(shared, "g.txt"))
        with pytest.raises(smol_ssh.RemoteFailed):
            c.remove(odd)
        c.remove(os.path.join(shared, "g.txt"))
        c.remove_dir(os.path.join(odd, "deeper"))
        c.remove_dir(odd)
        assert c.list_dir(shared) == []


def test_transfers_over_sftp(shared, tmp_path):
    with SSHClient(**guest(), file_transfer="sftp") as c:
        target = os.path.join(shared, "up.bin")
        assert c.put_bytes(b"\x00data\xff", target, mode=0o600) == target
        assert c.get_bytes(target) == b"\x00data\xff"
        with pytest.raises(smol_ssh.TooLarge):
            c.get_bytes(target, max_bytes=2)
        with pytest.raises(smol_ssh.NotFound):
            c.get_bytes(os.path.join(shared, "missing"))
        local = tmp_path / "back.bin"
        c.get_file(target, str(local))
        assert local.read_bytes() == b"\x00data\xff"
    with pytest.raises(smol_ssh.InvalidArgument):
        SSHClient(**guest(), file_transfer="ftp")
