"""An SSH server in one process, for the bench's 10,000 idle handles: OpenSSH's sshd costs two
processes per connection (~5 MB), which 10,000 connections cannot have on the bench machine.
What is measured is the client's side (RSS and threads of the process holding the handles);
this server only has to keep the connections and answer a command with exit 0.

Usage: idle_server.py AUTHORIZED_KEYS. Listens on 127.0.0.1 (a free port) and prints
`port N` once it does; ends when its standard input closes.
"""

import asyncio
import sys

import asyncssh


class Server(asyncssh.SSHServer):
    def begin_auth(self, username):
        return True


def answer(process):
    process.exit(0)


async def main():
    authorized = sys.argv[1]
    host_key = asyncssh.generate_private_key("ssh-ed25519")
    server = await asyncssh.create_server(
        Server,
        "127.0.0.1",
        0,
        server_host_keys=[host_key],
        authorized_client_keys=authorized,
        process_factory=answer,
        encoding=None,
        backlog=4096,
        login_timeout=120,
    )
    port = server.sockets[0].getsockname()[1]
    print(f"port {port}", flush=True)
    # Serve until the bench closes our standard input.
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.read)
    server.close()


asyncio.run(main())
