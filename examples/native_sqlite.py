"""Native memory: sqlite3's page cache, an xz compressor and zlib streams
come from malloc in C libraries; `python -m tmtrace run --native` puts
them at these lines (README, "Native allocations")."""
import lzma
import sqlite3
import zlib


def load(con, rows):
    con.execute("create table events(id integer primary key, body text)")
    con.executemany("insert into events(body) values (?)",
                    (("event %d " % i * 40,) for i in range(rows)))


con = sqlite3.connect(":memory:")
load(con, 200_000)
packer = lzma.LZMACompressor(preset=6)
streams = [zlib.compressobj() for _ in range(64)]
print("rows:", con.execute("select count(*) from events").fetchone()[0])
