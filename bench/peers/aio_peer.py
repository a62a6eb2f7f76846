"""Bench peer: smol_ssh from Python, warm `true` through the thread-based client and through
the asyncio client, alternating on one connection. Usage: N; prints "sync MS" and "async MS"
(medians)."""
import asyncio
import os
import statistics
import sys
import time

from smol_ssh.aio import AsyncSSHClient

n = int(sys.argv[1])


async def main():
    c = AsyncSSHClient(os.environ["SMOL_SSH_HOST"], port=int(os.environ["SMOL_SSH_PORT"]),
                       user=os.environ["SMOL_SSH_USER"], key_path=os.environ["SMOL_SSH_KEY"],
                       host_key_fingerprint=os.environ["SMOL_SSH_HOST_KEY"])
    for _ in range(5):
        await c.run("true", shell="raw")
    sync, aio = [], []
    for _ in range(n):
        t = time.perf_counter()
        c.sync.run("true", shell="raw")
        sync.append((time.perf_counter() - t) * 1e3)
        t = time.perf_counter()
        await c.run("true", shell="raw")
        aio.append((time.perf_counter() - t) * 1e3)
    c.free()
    print("sync %.4f" % statistics.median(sync))
    print("async %.4f" % statistics.median(aio), flush=True)


asyncio.run(main())
