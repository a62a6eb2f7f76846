"""Streams through the guest, local forwards and jumps, against the real sshd."""

import socket
import threading

import pytest

import smol_ssh
from smol_ssh import SSHClient
from conftest import guest


@pytest.fixture
def echo_port():
    listener = socket.create_server(("127.0.0.1", 0))

    def serve():
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return

            def echo(c=conn):
                with c:
                    while data := c.recv(65536):
                        c.sendall(data)
                    c.shutdown(socket.SHUT_WR)

            threading.Thread(target=echo, daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()
    yield listener.getsockname()[1]
    listener.close()


def _echo(conn, data):
    sender = threading.Thread(target=lambda: (conn.sendall(data), conn.shutdown(socket.SHUT_WR)))
    sender.start()
    back = bytearray()
    while chunk := conn.recv(65536):
        back += chunk
    sender.join()
    return bytes(back)


def test_open_stream(ssh, echo_port):
    data = b"smol-ssh " * 100000
    with ssh.open_stream("127.0.0.1", echo_port) as conn:
        assert _echo(conn, data) == data
    with pytest.raises(smol_ssh.ChannelFailed):
        ssh.open_stream("127.0.0.1", 1)
    assert ssh.run("echo fine").output == "fine"


def test_forward_local(ssh, echo_port, tmp_path):
    data = bytes(range(256)) * 4000
    with ssh.forward_local("127.0.0.1:0", "127.0.0.1", echo_port) as fwd:
        with socket.create_connection(("127.0.0.1", fwd.port)) as conn:
            assert _echo(conn, data) == data
        stats = fwd.stats()
        assert stats["connections"] == 1 and stats["bytes_to_guest"] == len(data)
    path = str(tmp_path / "fwd.sock")
    with ssh.forward_local(path, "127.0.0.1", echo_port) as fwd:
        assert fwd.port == 0
        with socket.socket(socket.AF_UNIX) as conn:
            conn.connect(path)
            assert _echo(conn, b"unix") == b"unix"
    with pytest.raises(smol_ssh.InvalidArgument):
        ssh.forward_local("nowhere", "127.0.0.1", echo_port)


def test_jump(ssh):
    g = guest()
    with SSHClient(**dict(g, host="127.0.0.1", port=22, jump=(ssh, g["host"], g["port"]))) as c:
        assert c.run("echo jumped").output == "jumped"
