#!/usr/bin/env python3
"""Idle and slow HTTP clients for bench/http/run.sh.

Keeps IDLE keep-alive connections open (each sends one GET /healthz, reads
the answer, then sits idle) and SLOW connections that send a request head a
line every 3 s and never finish it. A connection the server closes is opened
again, so the counts hold for the whole run. Prints one line a second:
`open idle=N slow=M closed_by_server=K`. Stops by itself after SECONDS.
Against 127.0.0.1 the connections come from SOURCES loopback addresses
(127.0.0.1, 127.0.0.2, ...; default 8), so that tens of thousands of them,
and the slow ones reconnecting, never run out of ephemeral ports.

usage: clients.py HOST PORT IDLE SLOW SECONDS [SOURCES]
"""
import asyncio
import resource
import sys
import time

HEALTHZ = b"GET /healthz HTTP/1.1\r\nHost: bench\r\n\r\n"


class Counts:
    sources = 8
    idle = 0
    slow = 0
    closed = 0


async def read_response(reader):
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    if length:
        await reader.readexactly(length)


def source(host, i):
    """The local address for connection i: one of Counts.sources loopback addresses."""
    if host != "127.0.0.1" or Counts.sources <= 1:
        return None
    return (f"127.0.0.{1 + i % Counts.sources}", 0)


async def idle_client(host, port, until, n):
    while time.monotonic() < until:
        try:
            reader, writer = await asyncio.open_connection(host, port, local_addr=source(host, n))
        except OSError:
            await asyncio.sleep(0.5)
            continue
        try:
            writer.write(HEALTHZ)
            await writer.drain()
            await read_response(reader)
            Counts.idle += 1
            try:
                # Idle until the server closes it or the run ends.
                await asyncio.wait_for(reader.read(1), timeout=max(0.1, until - time.monotonic()))
                Counts.closed += 1
            except asyncio.TimeoutError:
                pass
            finally:
                Counts.idle -= 1
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()


async def slow_client(host, port, until, n):
    while time.monotonic() < until:
        try:
            reader, writer = await asyncio.open_connection(host, port, local_addr=source(host, n))
        except OSError:
            await asyncio.sleep(0.5)
            continue
        Counts.slow += 1
        try:
            writer.write(b"GET /healthz HTTP/1.1\r\n")
            await writer.drain()
            i = 0
            while time.monotonic() < until:
                # One header line every 3 s, never the blank line that ends the head.
                try:
                    await asyncio.wait_for(reader.read(1), timeout=3.0)
                    Counts.closed += 1  # the server gave up on us: start again
                    break
                except asyncio.TimeoutError:
                    pass
                writer.write(b"X-Slow-%d: %d\r\n" % (i, n))
                await writer.drain()
                i += 1
        except OSError:
            pass
        finally:
            Counts.slow -= 1
            writer.close()


async def report(until):
    while time.monotonic() < until:
        print(f"open idle={Counts.idle} slow={Counts.slow} closed_by_server={Counts.closed}", flush=True)
        await asyncio.sleep(1)


async def main():
    host, port, idle, slow, seconds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])
    if len(sys.argv) > 6:
        Counts.sources = int(sys.argv[6])
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    until = time.monotonic() + seconds
    tasks = [asyncio.create_task(report(until))]
    # Open them in batches so the listen backlog is not the bottleneck.
    for i in range(idle):
        tasks.append(asyncio.create_task(idle_client(host, port, until, i)))
        if i % 500 == 499:
            await asyncio.sleep(0.05)
    for i in range(slow):
        tasks.append(asyncio.create_task(slow_client(host, port, until, idle + i)))
        if i % 500 == 499:
            await asyncio.sleep(0.05)
    await asyncio.gather(*tasks, return_exceptions=True)


if __name__ == "__main__":
    asyncio.run(main())
