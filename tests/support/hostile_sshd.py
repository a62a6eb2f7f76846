#!/usr/bin/python3
"""A scripted misbehaving SSH server (paramiko's server mode) for the hostile rows a real
OpenSSH sshd cannot play. It is never a stand-in for sshd: every ordinary behaviour is tested
against the real one.

Usage: hostile_sshd.py MODE
Listens on 127.0.0.1 at a free port, prints the port on stdout, and serves connections until
killed. MODE is how every connection behaves:
  normal                 an SSH server whose exec commands are the scripts below
  junk-banner            no SSH at all: endless lines that are not a version string
  lines-before-banner    a few lines before its version string (RFC 4253 s4.2 allows them)
  close-idle-channels    closes a session channel that has no exec request after 200 ms

SFTP subsystem rows (any mode): the server answers INIT with a proper VERSION, then plays
SMOL_HOSTILE_SFTP (an environment variable of the server): huge-packet (a length of 2 GiB),
unknown-type (a packet of type 77), name-lie (a NAME counting 4 billion entries), long-data
(DATA of 1 MiB + 1 bytes, more than any packet may hold), silent (no answer at all),
endless-names (a directory whose listing never ends).

Exec commands (the exact command string the client sends):
  echo TEXT              TEXT and a newline on stdout, exit status 0
  exit N                 exit status N (any 32-bit value)
  sleep S                nothing for S seconds, then exit status 0
  data-then-disconnect   output, then SSH_MSG_DISCONNECT in the same TCP segment
  data-after-eof         output, exit status, EOF; after the client's CLOSE, more data, then CLOSE
  ext-data-2             stdout, extended data of type 2, stderr, exit status 0
  no-exit-status         output, EOF and CLOSE without any exit status
  empty-signal           an exit-signal whose signal name is empty
  big-packet             one data packet of 36000 bytes (more than the 32 KiB the client offered)
  huge-packet            one data packet of 64 KiB (more than SSH packets may hold)
  never-close            a line of output, then nothing: the client's CLOSE is never answered
  connections            how many connections the server has accepted, on stdout
  success-storm N        N unsolicited CHANNEL_SUCCESS messages, then "done", exit 0
  junk-storm N           N unsolicited CHANNEL_SUCCESS messages carrying 30000 bytes of junk
                         each, then "done", exit 0
"""

import socket
import sys
import threading
import time

import paramiko
from paramiko.common import (
    MSG_CHANNEL_CLOSE,
    cMSG_CHANNEL_CLOSE,
    cMSG_CHANNEL_DATA,
    cMSG_CHANNEL_EOF,
    cMSG_CHANNEL_EXTENDED_DATA,
    cMSG_CHANNEL_REQUEST,
    cMSG_CHANNEL_SUCCESS,
    cMSG_DISCONNECT,
)
from paramiko.message import Message

HOST_KEY = paramiko.ECDSAKey.generate()
# Channels kept alive on purpose.
KEPT = []
# Connections accepted so far.
ACCEPTED = [0]

# Channels whose CLOSE from the client is held back from paramiko (which would answer it at
# once): chanid -> Event set when the client's CLOSE arrives.
HELD_CLOSES = {}
_original_close = paramiko.Transport._channel_handler_table[MSG_CHANNEL_CLOSE]


def _maybe_hold_close(chan, m):
    held = HELD_CLOSES.get(chan.chanid)
    if held is None:
        return _original_close(chan, m)
    held.set()


paramiko.Transport._channel_handler_table[MSG_CHANNEL_CLOSE] = _maybe_hold_close


def send(chan, build):
    m = Message()
    build(m)
    chan.transport._send_user_message(m)


def data(chan, payload, ext=None):
    def build(m):
        if ext is None:
            m.add_byte(cMSG_CHANNEL_DATA)
            m.add_int(chan.remote_chanid)
        else:
            m.add_byte(cMSG_CHANNEL_EXTENDED_DATA)
            m.add_int(chan.remote_chanid)
            m.add_int(ext)
        m.add_string(payload)

    send(chan, build)


def exit_status(chan, code):
    def build(m):
        m.add_byte(cMSG_CHANNEL_REQUEST)
        m.add_int(chan.remote_chanid)
        m.add_string("exit-status")
        m.add_boolean(False)
        m.add_int(code & 0xFFFFFFFF)

    send(chan, build)


def eof(chan):
    send(chan, lambda m: (m.add_byte(cMSG_CHANNEL_EOF), m.add_int(chan.remote_chanid)))


def close(chan):
    send(chan, lambda m: (m.add_byte(cMSG_CHANNEL_CLOSE), m.add_int(chan.remote_chanid)))


def finish(chan, code=0):
    exit_status(chan, code)
    eof(chan)
    close(chan)


def script(chan, command):
    # Let paramiko send the exec request's SUCCESS first.
    time.sleep(0.02)
    words = command.split(" ", 1)
    verb, arg = words[0], (words[1] if len(words) > 1 else "")
    if verb == "echo":
        data(chan, arg.encode() + b"\n")
        finish(chan)
    elif verb == "exit":
        finish(chan, int(arg))
    elif verb == "sleep":
        time.sleep(float(arg))
        finish(chan)
    elif verb == "data-then-disconnect":
        sock = chan.transport.sock
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_CORK, 1)
        data(chan, b"partial output\n" * 100)

        def build(m):
            m.add_byte(cMSG_DISCONNECT)
            m.add_int(11)  # SSH_DISCONNECT_BY_APPLICATION
            m.add_string("going away")
            m.add_string("")

        send(chan, build)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_CORK, 0)
        time.sleep(0.1)
        chan.transport.close()
    elif verb == "data-after-eof":
        held = threading.Event()
        HELD_CLOSES[chan.chanid] = held
        data(chan, b"before eof\n")
        exit_status(chan, 0)
        eof(chan)
        held.wait(10)
        data(chan, b"after eof\n")
        close(chan)
    elif verb == "ext-data-2":
        data(chan, b"out\n")
        data(chan, b"odd stream\n", ext=2)
        data(chan, b"err\n", ext=1)
        finish(chan)
    elif verb == "no-exit-status":
        data(chan, b"no status\n")
        eof(chan)
        close(chan)
    elif verb == "empty-signal":

        def build(m):
            m.add_byte(cMSG_CHANNEL_REQUEST)
            m.add_int(chan.remote_chanid)
            m.add_string("exit-signal")
            m.add_boolean(False)
            m.add_string("")
            m.add_boolean(False)
            m.add_string("")
            m.add_string("")

        data(chan, b"empty signal\n")
        send(chan, build)
        eof(chan)
        close(chan)
    elif verb == "big-packet":
        data(chan, b"B" * 36000)
        finish(chan)
    elif verb == "huge-packet":
        data(chan, b"B" * 65536)
        finish(chan)
    elif verb == "never-close":
        HELD_CLOSES[chan.chanid] = threading.Event()
        KEPT.append(chan)  # paramiko closes a channel it garbage-collects
        data(chan, b"never closes\n")
    elif verb == "connections":
        data(chan, b"%d\n" % ACCEPTED[0])
        finish(chan)
    elif verb == "junk-storm":
        junk = b"j" * 30000
        for _ in range(int(arg)):
            send(
                chan,
                lambda m: (
                    m.add_byte(cMSG_CHANNEL_SUCCESS),
                    m.add_int(chan.remote_chanid),
                    m.add_bytes(junk),
                ),
            )
        data(chan, b"done\n")
        finish(chan)
    elif verb == "success-storm":
        for _ in range(int(arg)):
            send(chan, lambda m: (m.add_byte(cMSG_CHANNEL_SUCCESS), m.add_int(chan.remote_chanid)))
        data(chan, b"done\n")
        finish(chan)
    else:
        data(chan, b"unknown script\n", ext=1)
        finish(chan, 127)


def lying_sftp(chan):
    """An SFTP server that answers INIT properly, then lies (see the module's doc)."""
    import os
    import struct

    def packet(body):
        return struct.pack(">I", len(body)) + body

    def read_packet():
        head = b""
        while len(head) < 4:
            got = chan.recv(4 - len(head))
            if not got:
                return None
            head += got
        (n,) = struct.unpack(">I", head)
        body = b""
        while len(body) < n:
            got = chan.recv(n - len(body))
            if not got:
                return None
            body += got
        return body

    if read_packet() is None:
        return
    chan.sendall(packet(b"\x02" + struct.pack(">I", 3)))
    how = os.environ.get("SMOL_HOSTILE_SFTP", "silent")
    while True:
        body = read_packet()
        if body is None:
            return
        rid = body[1:5]
        if how == "huge-packet":
            chan.sendall(struct.pack(">I", 0x7FFFFFFF) + b"\x65" + rid)
        elif how == "unknown-type":
            chan.sendall(packet(b"\x4d" + rid))
        elif how == "name-lie":
            chan.sendall(packet(b"\x68" + rid + struct.pack(">I", 0xFFFFFFFF)))
        elif how == "endless-names":
            kind = body[0]
            if kind == 11:  # OPENDIR: a handle
                chan.sendall(packet(b"\x66" + rid + struct.pack(">I", 1) + b"h"))
            elif kind == 12:  # READDIR: 900 long names, never EOF
                entry = struct.pack(">I", 1000) + b"n" * 1000 + struct.pack(">I", 1) + b"l" + struct.pack(">I", 0)
                chan.sendall(packet(b"\x68" + rid + struct.pack(">I", 900) + entry * 900))
            else:  # anything else: OK
                chan.sendall(packet(b"\x65" + rid + struct.pack(">I", 0) + struct.pack(">I", 0) + struct.pack(">I", 0)))
        elif how == "long-data":
            chan.sendall(packet(b"\x67" + rid + struct.pack(">I", (1 << 20) + 1) + b"x" * 64))
        # silent: nothing


class Server(paramiko.ServerInterface):
    def __init__(self, mode):
        self.mode = mode
        self.execs = set()

    def check_auth_publickey(self, username, key):
        return paramiko.AUTH_SUCCESSFUL

    def check_auth_password(self, username, password):
        return paramiko.AUTH_SUCCESSFUL

    def get_allowed_auths(self, username):
        return "publickey,password"

    def check_channel_request(self, kind, chanid):
        if kind != "session":
            return paramiko.OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED
        return paramiko.OPEN_SUCCEEDED

    def check_channel_subsystem_request(self, channel, name):
        if name != "sftp":
            return False
        threading.Thread(target=lying_sftp, args=(channel,), daemon=True).start()
        return True

    def check_channel_exec_request(self, channel, command):
        self.execs.add(channel.chanid)
        threading.Thread(
            target=script, args=(channel, command.decode("utf-8", "replace")), daemon=True
        ).start()
        return True


def serve_ssh(conn, mode):
    transport = paramiko.Transport(conn)
    transport.add_server_key(HOST_KEY)
    server = Server(mode)
    try:
        transport.start_server(server=server)
    except Exception:
        return
    while transport.is_active():
        chan = transport.accept(0.5)
        if chan is None or mode != "close-idle-channels":
            continue

        def close_if_idle(chan=chan):
            time.sleep(0.2)
            if chan.chanid not in server.execs:
                close(chan)

        threading.Thread(target=close_if_idle, daemon=True).start()


def serve(conn, mode):
    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        if mode == "junk-banner":
            line = b"this is not an ssh server, just lines without end\r\n" * 64
            while True:
                conn.sendall(line)
        if mode == "lines-before-banner":
            conn.sendall(b"Welcome to the guest\r\nplease wait\r\n")
        serve_ssh(conn, mode)
    except OSError:
        pass


def main():
    mode = sys.argv[1] if len(sys.argv) > 1 else "normal"
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    print(listener.getsockname()[1], flush=True)
    while True:
        conn, _ = listener.accept()
        ACCEPTED[0] += 1
        threading.Thread(target=serve, args=(conn, mode), daemon=True).start()


if __name__ == "__main__":
    main()
