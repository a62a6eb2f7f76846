"""Bench peer: paramiko, one transport, a channel per command. Usage: FIGURE N"""
import os
import socket
import sys
import threading
import time

import paramiko

LOGIN_TRUE = 'SHELL_BIN="${SHELL:-/bin/sh}"; exec "$SHELL_BIN" -lc true'
BIG = "head -c 100000000 /dev/zero"

start = time.monotonic()
figure, n = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 1
sock = socket.create_connection((os.environ["SMOL_SSH_HOST"], int(os.environ["SMOL_SSH_PORT"])))
sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
t = paramiko.Transport(sock)
cipher = os.environ.get("BENCH_CIPHER")
if cipher:
    t.get_security_options().ciphers = (cipher,)
t.connect(username=os.environ["SMOL_SSH_USER"], pkey=paramiko.Ed25519Key.from_private_key_file(os.environ["SMOL_SSH_KEY"]))
print("cipher", t.remote_cipher, flush=True)


def run(cmd):
    ch = t.open_session()
    ch.exec_command(cmd)
    total = 0
    while True:
        data = ch.recv(1 << 20)
        if not data:
            break
        total += len(data)
    while ch.recv_stderr(1 << 20):
        pass
    ch.recv_exit_status()
    ch.close()
    return total


run("true")
if figure in ("warm", "login"):
    cmd = "true" if figure == "warm" else LOGIN_TRUE
    for _ in range(n):
        s = time.perf_counter()
        run(cmd)
        print("sample %.4f" % ((time.perf_counter() - s) * 1e3))
elif figure == "throughput":
    for _ in range(n):
        s = time.perf_counter()
        assert run(BIG) == 100_000_000
        print("sample %.2f" % (100 / (time.perf_counter() - s)))
elif figure in ("parallel", "rate"):
    k, total, cmd = (8, 8, "sleep 0.2") if figure == "parallel" else (n, 200, "true")
    left = [total]
    lock = threading.Lock()

    def worker():
        while True:
            with lock:
                if left[0] <= 0:
                    return
                left[0] -= 1
            run(cmd)

    s = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(k)]
    [th.start() for th in threads]
    [th.join() for th in threads]
    secs = time.perf_counter() - s
    print("sample %.4f" % (secs if figure == "parallel" else total / secs))
t.close()
