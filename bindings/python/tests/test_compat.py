"""smol_ssh.compat: the reference client's API, shape and errors, against a real sshd."""

import os
import socket
import threading
from pathlib import Path

import pytest

from conftest import guest
from smol_ssh import compat
from smol_ssh.compat import CommandResult, OperationTimeoutError, SmolVMError, SSHClient


def reference_client(**extra):
    g = guest()
    # The host key comes from SMOL_SSH_HOST_KEY (set by tests/python.sh), as a deployment
    # that cannot change its calls would do.
    return SSHClient(g["host"], user=g["user"], port=g["port"], key_path=g["key_path"], **extra)


@pytest.fixture
def client():
    c = reference_client()
    yield c
    c.close()


def test_constructor_and_public_attributes():
    c = SSHClient("172.16.0.2")
    assert (c.host, c.user, c.port, c.key_path, c.password, c.connect_timeout, c.shell_kind) == (
        "172.16.0.2", "root", 22, None, None, 10, "sh")
    assert c.connected is False  # nothing connects at construction


@pytest.mark.parametrize("kwargs, start", [
    (dict(host=""), "host cannot be empty"),
    (dict(host="   "), "host cannot be empty"),
    (dict(host="h", user=""), "user cannot be empty"),
    (dict(host="h", port=0), "port must be"),
    (dict(host="h", port=65536), "port must be"),
    (dict(host="h", connect_timeout=0), "connect_timeout must be"),
    (dict(host="h", shell_kind="bash"), "shell_kind must be"),
])
def test_bad_constructor_arguments_are_value_errors(kwargs, start):
    with pytest.raises(ValueError) as e:
        SSHClient(**kwargs)
    assert str(e.value).startswith(start)


def test_run_returns_text_and_the_reference_fields(client):
    r = client.run("printf '  héllo \\v\\n'; printf 'bad \\377 byte' >&2; exit 3")
    assert isinstance(r, CommandResult)
    assert r.exit_code == 3 and isinstance(r.exit_code, int) and not r.ok
    assert r.stdout == "  héllo \v\n"
    assert r.output == "héllo"  # str.strip(): \v too
    assert r.stderr == "bad \ufffd byte"  # invalid UTF-8 replaced
    assert client.connected
    assert client.run("true", shell="raw").ok
    # str.strip() also removes Unicode spaces (the core's bytes stay exact).
    assert client.run("printf '\\342\\200\\203x\\342\\200\\203'").output == "x"


def test_no_exit_status_is_minus_one(client):
    r = client.run("kill -9 $$", shell="raw")
    assert r.exit_code == -1 and not r.ok


@pytest.mark.parametrize("args, kwargs, start", [
    (("",), {}, "command cannot be empty"),
    ((" \n\t",), {}, "command cannot be empty"),
    (("true",), dict(timeout=0), "timeout must be"),
    (("true",), dict(timeout=0.5), "timeout must be"),
    (("true",), dict(shell="bash"), "shell must be"),
])
def test_bad_run_arguments_are_value_errors(client, args, kwargs, start):
    with pytest.raises(ValueError) as e:
        client.run(*args, **kwargs)
    assert str(e.value).startswith(start)


def test_a_timeout_is_an_operation_timeout_error(client):
    with pytest.raises(OperationTimeoutError) as e:
        client.run("echo partial; sleep 30", timeout=1)
    assert isinstance(e.value, SmolVMError)
    assert "1.0 s" in e.value.message
    assert e.value.details["stdout"] == "partial\n"
    assert client.run("echo after").output == "after"


def test_connection_failures_are_smolvm_errors():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    c = SSHClient("127.0.0.1", port=port, connect_timeout=1)
    with pytest.raises(SmolVMError) as e:
        c.run("true")
    assert not isinstance(e.value, OperationTimeoutError) or "connect" in e.value.message
    with pytest.raises(OperationTimeoutError):
        c.wait_for_ssh(timeout=0.3)
    with pytest.raises(ValueError):
        c.wait_for_ssh(timeout=0)


def test_wait_for_ssh_connects_and_close_is_idempotent(client):
    client.wait_for_ssh(timeout=10)
    assert client.connected
    client.close()
    client.close()
    assert not client.connected
    assert client.run("echo again").output == "again"


def test_changed_attributes_take_effect(client):
    assert client.run("true").ok
    good = client.port
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        client.port = s.getsockname()[1]
    with pytest.raises(SmolVMError):
        client.run("true")
    client.port = good
    assert client.run("echo back").output == "back"
    client.port = 0
    with pytest.raises(ValueError):
        client.run("true")


def test_put_and_get_file(client, tmp_path):
    src = tmp_path / "up.bin"
    src.write_bytes(os.urandom(100_000))
    os.chmod(src, 0o640)
    remote_dir = client.run("mktemp -d").output
    written = client.put_file(str(src), remote_dir)
    assert written == f"{remote_dir}/up.bin"
    back = client.get_file(written, tmp_path / "deep" / "down.bin")
    assert isinstance(back, Path) and back.read_bytes() == src.read_bytes()
    with pytest.raises(SmolVMError):
        client.get_file(written, tmp_path / "small", max_bytes=10)
    assert not (tmp_path / "small").exists()
    with pytest.raises(ValueError):
        client.put_file(str(tmp_path / "missing"), remote_dir)
    with pytest.raises(SmolVMError):
        client.get_file(f"{remote_dir}/missing", tmp_path / "x")
    client.run(f"rm -rf {remote_dir}")


def test_host_keys_are_checked_unless_chosen(monkeypatch):
    g = guest()
    monkeypatch.delenv("SMOL_SSH_HOST_KEY", raising=False)
    monkeypatch.setenv("HOME", "/nonexistent")  # no known_hosts: the default refuses
    strict = SSHClient(g["host"], user=g["user"], port=g["port"], key_path=g["key_path"])
    with pytest.raises(SmolVMError) as e:
        strict.run("true")
    assert "host key" in e.value.message.lower()
    monkeypatch.setenv("SMOL_SSH_HOST_KEY_POLICY", "accept_any")
    assert reference_client().run("true").ok
    monkeypatch.setenv("SMOL_SSH_HOST_KEY", "SHA256:" + "A" * 43 + "," + g["host_key_fingerprint"])
    assert reference_client().run("true").ok
    # An explicit keyword wins over the environment.
    with pytest.raises(SmolVMError):
        reference_client(host_key_fingerprint="SHA256:" + "A" * 43).run("true")


def test_threads_share_one_client(client):
    outputs = []

    def work(i):
        outputs.append(client.run(f"echo {i}").output)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outputs, key=int) == [str(i) for i in range(8)]


def test_module_exports():
    assert issubclass(OperationTimeoutError, SmolVMError)
    assert set(compat.__all__) >= {"SSHClient", "CommandResult", "SmolVMError", "OperationTimeoutError"}


def test_windows_guests_get_files_over_sftp(tmp_path):
    # The reference uploads to Windows guests over SFTP; so does the drop-in (the sshd here is
    # Linux's, which SFTP does not mind).
    import shutil
    import tempfile

    g = guest()
    c = SSHClient(g["host"], user=g["user"], port=g["port"], key_path=g["key_path"], shell_kind="powershell")
    src = tmp_path / "w.txt"
    src.write_text("to windows")
    shared = tempfile.mkdtemp(prefix="smol-ssh-compat-")
    try:
        os.chmod(shared, 0o777)
        remote = os.path.join(shared, "w-remote.txt")
        assert c.put_file(str(src), remote) == remote
        assert c.get_file(remote, tmp_path / "w-back.txt").read_text() == "to windows"
    finally:
        shutil.rmtree(shared)
