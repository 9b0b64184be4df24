"""A small program that leaks memory on a schedule, to try tmtrace on.

    python -m tmtrace run --delay 1 --output leaky-out examples/leaky.py
    TMTRACE=5 TMTRACE_DELAY=1 python examples/leaky.py

Every tick it caches a report that is never evicted (the leak, in
remember()) and builds a temporary buffer that is freed (no leak), so a
diff of two snapshots shows remember()'s line growing.
"""
import argparse
import time

_cache = {}


def remember(key, size):
    # The leak: one entry per key, never evicted.
    _cache[key] = bytearray(size)


def scratch(size):
    # Not a leak: allocated and freed within the tick.
    return len(bytes(size))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.5,
                        help="how long to run (default 3.5)")
    parser.add_argument("--tick", type=float, default=0.1,
                        help="seconds between two leaks (default 0.1)")
    parser.add_argument("--leak", type=int, default=100_000,
                        help="bytes leaked per tick (default 100000)")
    args = parser.parse_args()
    end = time.monotonic() + args.seconds
    tick = 0
    while time.monotonic() < end:
        remember(tick, args.leak)
        scratch(args.leak * 4)
        tick += 1
        time.sleep(args.tick)
    print("leaked %d bytes in %d ticks" % (sum(map(len, _cache.values())), tick))


if __name__ == "__main__":
    main()
