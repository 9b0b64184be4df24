"""python -m tmtrace run [options] (script.py | -m module) [args...]
python -m tmtrace export --format parquet -o PATH FILE...  (tmtrace._export)"""
import sys

if __name__ == "__main__":
    if sys.argv[1:2] == ["export"]:
        from tmtrace._export import main
        sys.exit(main(sys.argv[2:]))
    from tmtrace._runner import run
    sys.exit(run())
