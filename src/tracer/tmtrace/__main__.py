"""python -m tmtrace run [options] (script.py | -m module) [args...]
python -m tmtrace export --format parquet -o PATH FILE...  (tmtrace._export)"""
import sys

from tmtrace._cmdline import main

if __name__ == "__main__":
    sys.exit(main())
