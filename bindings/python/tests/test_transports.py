"""Transports other than TCP, against the real sshd: a Unix socket bridged to it, a
descriptor from `dial`, and the error paths."""

import os
import socket
import threading

import pytest

import smol_ssh
from smol_ssh import SSHClient
from conftest import guest


def _pipe(src, dst):
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
    except OSError:
        pass
    finally:
        try:
            dst.shutdown(socket.SHUT_WR)
        except OSError:
            pass


@pytest.fixture
def unix_bridge(tmp_path):
    """A Unix socket whose connections are forwarded to the test sshd over TCP."""
    g = guest()
    path = str(tmp_path / "guest.sock")
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(path)
    listener.listen()
    open_conns = []

    def serve():
        while True:
            try:
                inner, _ = listener.accept()
            except OSError:
                return
            outer = socket.create_connection((g["host"], g["port"]))
            open_conns.extend([inner, outer])
            threading.Thread(target=_pipe, args=(inner, outer), daemon=True).start()
            threading.Thread(target=_pipe, args=(outer, inner), daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()
    yield path
    listener.close()
    for s in open_conns:
        s.close()


def _through(**transport):
    g = guest()
    return SSHClient(**dict(g, host="guest", port=22, **transport))


def test_unix_socket(unix_bridge):
    with _through(unix_socket=unix_bridge) as c:
        assert c.run("echo over-unix").output == "over-unix"
        c.wait_for_ssh(timeout=10)


def test_dial_is_called_at_every_connect():
    g = guest()
    calls = []

    def dial():
        calls.append(1)
        return socket.create_connection((g["host"], g["port"]))

    with _through(dial=dial) as c:
        assert c.run("echo dialed").output == "dialed"
        c.close()
        assert c.run("echo again").output == "again"
    assert len(calls) == 2


def test_transport_errors(tmp_path):
    with pytest.raises(smol_ssh.InvalidArgument):
        _through(unix_socket="/x", vsock_cid=3)
    with pytest.raises(smol_ssh.InvalidArgument):
        _through(vsock_cid=2)
    with pytest.raises(smol_ssh.InvalidArgument):
        _through(hybrid_vsock="")
    with pytest.raises(smol_ssh.InvalidArgument):
        _through(vsock_cid=3, vsock_port=-1)

    def broken():
        raise OSError("no guest")

    for transport in (dict(unix_socket=str(tmp_path / "missing.sock")), dict(dial=broken),
                      dict(dial=lambda: -1)):
        with _through(**transport) as c:
            with pytest.raises(smol_ssh.ConnectFailed):
                c.run("true")
