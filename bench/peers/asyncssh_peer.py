"""Bench peer: asyncssh, one connection, a channel per command. Usage: FIGURE N"""
import asyncio
import os
import sys
import time

import asyncssh

LOGIN_TRUE = 'SHELL_BIN="${SHELL:-/bin/sh}"; exec "$SHELL_BIN" -lc true'
BIG = "head -c 100000000 /dev/zero"


async def main():
    figure, n = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 1
    cipher = os.environ.get("BENCH_CIPHER")
    kw = dict(encryption_algs=[cipher]) if cipher else {}
    async with asyncssh.connect(
        os.environ["SMOL_SSH_HOST"], port=int(os.environ["SMOL_SSH_PORT"]), username=os.environ["SMOL_SSH_USER"],
        client_keys=[os.environ["SMOL_SSH_KEY"]], known_hosts=None, **kw,
    ) as conn:
        print("cipher", conn.get_extra_info("send_cipher"), flush=True)

        async def run(cmd):
            r = await conn.run(cmd, encoding=None)
            return len(r.stdout)

        await run("true")
        if figure in ("warm", "login"):
            cmd = "true" if figure == "warm" else LOGIN_TRUE
            for _ in range(n):
                s = time.perf_counter()
                await run(cmd)
                print("sample %.4f" % ((time.perf_counter() - s) * 1e3))
        elif figure == "throughput":
            for _ in range(n):
                s = time.perf_counter()
                assert await run(BIG) == 100_000_000
                print("sample %.2f" % (100 / (time.perf_counter() - s)))
        elif figure in ("parallel", "rate"):
            k, total, cmd = (8, 8, "sleep 0.2") if figure == "parallel" else (n, 200, "true")
            left = [total]

            async def worker():
                while left[0] > 0:
                    left[0] -= 1
                    await run(cmd)

            s = time.perf_counter()
            await asyncio.gather(*[worker() for _ in range(k)])
            secs = time.perf_counter() - s
            print("sample %.4f" % (secs if figure == "parallel" else total / secs))


asyncio.run(main())
