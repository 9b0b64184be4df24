"""python -m tmtrace run [options] (script.py | -m module) [args...]"""
import sys

from tmtrace._runner import run

if __name__ == "__main__":
    sys.exit(run())
