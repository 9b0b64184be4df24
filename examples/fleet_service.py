"""A toy web worker for docs/fleet.md: one process of a fleet.

    python examples/fleet_service.py VERSION OUT.tms [SEED]

It serves a few thousand requests (sessions, rendered pages, a page cache),
then writes one snapshot with traces.  Version v2 ships a bug: its page
cache is never trimmed, so that one site grows in every v2 process.
"""
import random
import sys

import tmtrace

tmtrace.set_traceback_limit(8)
tmtrace.enable()

version, out = sys.argv[1], sys.argv[2]
rng = random.Random(int(sys.argv[3]) if len(sys.argv) > 3 else 0)
sessions = {}
page_cache = []


def load_session(uid):
    sessions[uid] = {"uid": uid, "history": [0] * 40}


def render(n):
    return "".join("<li>%d</li>" % i for i in range(n))


def cache_page(page):
    page_cache.append(page)
    if version != "v2" and len(page_cache) > 200:
        del page_cache[:100]       # v2 lost this line


def handle(i):
    uid = rng.randrange(1500)
    if uid not in sessions:
        load_session(uid)
    cache_page(render(rng.randrange(5, 60)))


for i in range(rng.randrange(2000, 4000)):
    handle(i)
tmtrace.Snapshot.create(traces=True).write(out)
