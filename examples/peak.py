"""A peak no snapshot of the live heap shows: a 100 MiB temporary local to
a function, freed before it returns (README, "The peak").

    python -m tmtrace run -o peak-out examples/peak.py
    tmtool top --peak peak-out/tmtrace-*-0001.tms
"""
import json


class Report:
    def render(self, rows):
        buffer = bytearray(100 * 1024 * 1024)     # the temporary
        for i, row in enumerate(rows):
            buffer[i] = len(row) % 256
        return json.dumps({"rows": len(rows), "first": buffer[0]})


ROWS = ["row %d" % i for i in range(20000)]       # kept until exit
print(Report().render(ROWS))
