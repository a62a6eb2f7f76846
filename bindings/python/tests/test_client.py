"""The Python binding against a real sshd (started by tests/python.sh)."""

import os
import threading
import time

import pytest

import smol_ssh
from smol_ssh import SSHClient
from conftest import guest


def test_loaded_library_is_the_one_expected():
    # tests/python.sh says which library this run must load (installed, bundled, named).
    wanted = os.environ.get("SMOL_SSH_EXPECT_LIBRARY")
    assert wanted, "run these tests through tests/python.sh"
    assert os.path.realpath(smol_ssh.library_path).startswith(os.path.realpath(wanted)), smol_ssh.library_path
    assert smol_ssh.version().count(".") == 2


def test_run_returns_the_reference_result(ssh):
    r = ssh.run("printf '  hello  \\n'; printf 'err' >&2; exit 3")
    assert r.exit_code == 3
    assert not r.ok
    assert r.stdout == b"  hello  \n"
    assert r.stderr == b"err"
    assert r.output == "hello"
    assert r.elapsed > 0


def test_bytes_are_exact(ssh):
    r = ssh.run("printf 'a\\000b\\377'", shell="raw")
    assert r.stdout == b"a\x00b\xff"
    assert r.ok


def test_login_and_raw_shells(ssh):
    assert ssh.run("echo \"it's $((1+1))\"").output == "it's 2"
    assert ssh.run("echo $0", shell="raw").output in ("sh", "bash", "dash", "-sh")


def test_timeout_raises_with_the_output_so_far(ssh):
    start = time.monotonic()
    with pytest.raises(smol_ssh.Timeout) as info:
        ssh.run("echo before; sleep 5", timeout=1, shell="raw")
    assert time.monotonic() - start < 1.5
    assert isinstance(info.value, TimeoutError)
    assert info.value.stdout == b"before\n"
    assert "1.0 s" in str(info.value)
    assert ssh.run("echo after").output == "after"


@pytest.mark.parametrize(
    "kwargs",
    [dict(command=""), dict(command="   "), dict(command="true", timeout=0), dict(command="true", shell="zsh")],
)
def test_invalid_arguments_raise_value_errors(ssh, kwargs):
    with pytest.raises(smol_ssh.InvalidArgument) as info:
        ssh.run(**kwargs)
    assert isinstance(info.value, ValueError)
    assert not ssh.connected


def test_bad_options_raise_at_construction():
    with pytest.raises(smol_ssh.InvalidArgument):
        SSHClient("")
    with pytest.raises(smol_ssh.InvalidArgument):
        SSHClient("h", port=0)
    with pytest.raises(smol_ssh.InvalidArgument):
        SSHClient("h", connect_timeout=0.5)
    with pytest.raises(smol_ssh.InvalidArgument):
        SSHClient("h", shell_kind="fish")


def test_connection_errors_are_connection_errors():
    g = guest()
    with SSHClient(g["host"], port=1, connect_timeout=2) as refused:
        with pytest.raises(smol_ssh.ConnectFailed) as info:
            refused.run("true")
        assert isinstance(info.value, ConnectionError)
    with SSHClient(**dict(g, key_path="/nonexistent/key")) as bad_key:
        with pytest.raises(smol_ssh.AuthFailed):
            bad_key.run("true")
    with SSHClient(**dict(g, host_key_fingerprint="SHA256:" + "A" * 43)) as pinned:
        with pytest.raises(smol_ssh.HostKeyRejected):
            pinned.run("true")
    # No policy chosen: the unknown key is refused; trusted on first use, it is accepted.
    with SSHClient(**dict(g, host_key_fingerprint=None)) as default:
        assert default.host_key_fingerprint is None
        with pytest.raises(smol_ssh.HostKeyRejected):
            default.run("true")
        assert default.host_key_fingerprint == g["host_key_fingerprint"]
    with SSHClient(**dict(g, host_key_fingerprint=None, host_key_policy="accept_first")) as tofu:
        assert tofu.run("echo ok").output == "ok"
    with pytest.raises(smol_ssh.InvalidArgument):
        SSHClient("h", host_key_policy="trust_me")
    # A callable decides, given the key's type, fingerprint and bytes.
    seen = []

    def decide(key_type, fingerprint, key):
        seen.append((key_type, fingerprint, len(key)))
        return fingerprint == g["host_key_fingerprint"]

    with SSHClient(**dict(g, host_key_fingerprint=None, host_key_callback=decide)) as asked:
        assert asked.run("echo yes").output == "yes"
    assert seen == [("ssh-ed25519", g["host_key_fingerprint"], 51)]
    with SSHClient(**dict(g, host_key_fingerprint=None, host_key_callback=lambda *_: False)) as no:
        with pytest.raises(smol_ssh.HostKeyRejected):
            no.run("true")


def test_wait_close_and_reconnect(ssh):
    ssh.wait_for_ssh(timeout=10)
    assert ssh.connected
    ssh.close()
    assert not ssh.connected
    ssh.close()
    assert ssh.run("echo again").output == "again"


def test_use_after_free_is_an_error_not_a_crash():
    client = SSHClient(**guest())
    client.free()
    client.free()
    with pytest.raises(smol_ssh.InvalidArgument):
        client.run("true")
    assert not client.connected


def test_threads_share_one_client(ssh):
    results = {}

    def work(i):
        results[i] = ssh.run(f"echo {i}", shell="raw").output

    threads = [threading.Thread(target=work, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == {i: str(i) for i in range(16)}


def test_commands_run_in_parallel_not_one_by_one(ssh):
    ssh.run("true")
    start = time.monotonic()
    threads = [threading.Thread(target=ssh.run, args=("sleep 0.5",), kwargs=dict(shell="raw")) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # Four half-second sleeps on one connection take about half a second, not two.
    assert time.monotonic() - start < 1.5


def test_stdin_and_env(ssh):
    r = ssh.run("cat; printf '|%s' \"$GREETING\"", stdin=b"in\x00put", env={"GREETING": "it's me"})
    assert r.stdout == b"in\x00put|it's me"


def test_streaming_and_stopping(ssh):
    chunks = []
    r = ssh.run("echo a; sleep 0.2; echo b >&2", shell="raw", on_output=lambda s, d: chunks.append((s, d)))
    assert chunks == [("stdout", b"a\n"), ("stderr", b"b\n")]
    assert r.stdout == b""
    start = time.monotonic()
    with pytest.raises(smol_ssh.Cancelled):
        ssh.run("echo go; sleep 10", shell="raw", on_output=lambda s, d: False)
    assert time.monotonic() - start < 2

    def boom(stream, data):
        raise RuntimeError("callback failed")

    with pytest.raises(RuntimeError, match="callback failed"):
        ssh.run("echo go; sleep 10", shell="raw", on_output=boom)
    assert ssh.run("echo fine").output == "fine"


def test_cancel_from_another_thread(ssh):
    token = smol_ssh.CancelToken()
    threading.Timer(0.3, token.cancel).start()
    start = time.monotonic()
    with pytest.raises(smol_ssh.Cancelled) as info:
        ssh.run("echo started; sleep 10", shell="raw", cancel=token)
    assert time.monotonic() - start < 1.5
    assert info.value.stdout == b"started\n"
    assert token.cancelled


def test_file_transfer(ssh):
    import pathlib
    import shutil
    import tempfile

    tmp_path = pathlib.Path(tempfile.mkdtemp(prefix="smol-ssh-py-"))
    os.chmod(tmp_path, 0o755)  # the guest account (maybe another user) must reach it
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o777)
    local = tmp_path / "hello.txt"
    local.write_bytes(b"hello\n")
    os.chmod(local, 0o640)
    written = ssh.put_file(str(local), str(shared))
    assert written == str(shared / "hello.txt")
    assert os.stat(written).st_mode & 0o777 == 0o640
    assert ssh.get_bytes(written) == b"hello\n"
    back = tmp_path / "deep" / "back.txt"
    ssh.get_file(written, str(back))
    assert back.read_bytes() == b"hello\n"
    assert ssh.put_bytes(b"\x00\xff", str(shared / "raw.bin"), mode=0o600) == str(shared / "raw.bin")
    with pytest.raises(smol_ssh.TooLarge):
        ssh.get_bytes(written, max_bytes=3)
    with pytest.raises(smol_ssh.RemoteFailed):
        ssh.get_bytes(str(shared / "missing"))
    with pytest.raises(smol_ssh.InvalidArgument):
        ssh.put_file(str(tmp_path / "missing"), str(shared))
    shutil.rmtree(tmp_path)


def test_secret_env_stays_out_of_the_command_line(ssh):
    result = ssh.run(
        'printf %s "$TOKEN"; tr "\\0" " " < /proc/$$/cmdline', shell="raw", secret_env={"TOKEN": "hush"}
    )
    value, cmdline = result.stdout[:4], result.stdout[4:]
    assert value == b"hush"
    assert b"hush" not in cmdline


def test_logger_is_told_what_the_client_does(caplog):
    import logging

    logger = logging.getLogger("smol_ssh.test")
    with caplog.at_level(logging.DEBUG, logger="smol_ssh.test"):
        with SSHClient(**guest(), logger=logger) as c:
            c.run("true")
            with pytest.raises(smol_ssh.Timeout):
                c.run("sleep 10", timeout=1)
    records = [(r.levelno, r.getMessage()) for r in caplog.records if r.name == "smol_ssh.test"]
    assert any(level == logging.INFO and "connected to" in m for level, m in records), records
    assert any(level == logging.INFO and "authenticated" in m for level, m in records), records
    assert any(level == logging.WARNING and "timed out" in m for level, m in records), records


def test_ciphers_choose_the_cipher(caplog):
    import logging

    logger = logging.getLogger("smol_ssh.ciphers")
    with caplog.at_level(logging.INFO, logger="smol_ssh.ciphers"):
        with SSHClient(**guest(), ciphers="aes128-ctr", logger=logger) as c:
            assert c.run("echo ok").output == "ok"
    assert any("cipher aes128-ctr" in r.getMessage() for r in caplog.records)
    with pytest.raises(smol_ssh.InvalidArgument):
        SSHClient(**guest(), ciphers="")


def test_several_pins_accept_any_of_them():
    g = guest()
    wrong = "SHA256:" + "A" * 43
    g["host_key_fingerprint"] = [wrong, g["host_key_fingerprint"]]
    with SSHClient(**g) as c:
        assert c.run("echo pinned").output == "pinned"
    g["host_key_fingerprint"] = [wrong]
    with SSHClient(**g) as c:
        with pytest.raises(smol_ssh.HostKeyRejected):
            c.run("true")


def test_clients_share_the_driver_threads():
    with pytest.raises(smol_ssh.InvalidArgument):
        smol_ssh.set_driver_threads(-1)
    with pytest.raises(smol_ssh.InvalidArgument):
        smol_ssh.set_driver_threads(5000)
    assert smol_ssh.driver_threads() >= 1

    def native_threads():
        return len(os.listdir("/proc/self/task"))

    before = native_threads()
    clients = [SSHClient(**guest()) for _ in range(24)]
    try:
        for i, c in enumerate(clients):
            assert c.run(f"echo {i}").stdout == f"{i}\n".encode()
        # 24 connected clients, and no more threads than the pool's size.
        assert native_threads() - before <= smol_ssh.driver_threads()
    finally:
        for c in clients:
            c.close()
