"""Bench peer: paramiko's SFTP client on one transport. Usage: up LOCAL REMOTE | down REMOTE
LOCAL | small-up LOCALDIR REMOTEDIR | small-down REMOTEDIR LOCALDIR; prints "sample SECONDS"
for the transfer alone (after the connect)."""
import os
import socket
import sys
import time

import paramiko

sock = socket.create_connection((os.environ["SMOL_SSH_HOST"], int(os.environ["SMOL_SSH_PORT"])))
sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
t = paramiko.Transport(sock)
t.connect(username=os.environ["SMOL_SSH_USER"],
          pkey=paramiko.Ed25519Key.from_private_key_file(os.environ["SMOL_SSH_KEY"]))
sftp = paramiko.SFTPClient.from_transport(t)
what, a, b = sys.argv[1], sys.argv[2], sys.argv[3]
start = time.monotonic()
if what == "up":
    sftp.put(a, b)
elif what == "down":
    sftp.get(a, b)
elif what == "small-up":
    for name in sorted(os.listdir(a)):
        sftp.put(os.path.join(a, name), b + "/" + name)
elif what == "small-down":
    for name in sorted(sftp.listdir(a)):
        sftp.get(a + "/" + name, os.path.join(b, name))
print("sample %.6f" % (time.monotonic() - start), flush=True)
t.close()
