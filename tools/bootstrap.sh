#!/bin/sh
# Install what building and testing tmtrace needs, on Debian: the missing
# Debian packages (apt-get, as root or through sudo) and a Python virtual
# environment with the build and test tools.  Safe to run again: it only
# installs what is missing.
#   PYTHON=python3  interpreter for the venv (default: python3)
#   VENV=.venv      where the venv goes
set -eu
PYTHON=${PYTHON:-python3}
VENV=${VENV:-.venv}
say() { printf 'bootstrap: %s\n' "$*" >&2; }

# protobuf-c (library + protoc-c) and zlib: tmtool export --format pprof;
# golang-go: `go tool pprof` reads those exports back in the tests.
# fish, zsh: the completion tests run the scripts in the real shells.
# clang: the libFuzzer pass of `make check` (tests/fuzz/run.sh).
# tmux: the watch view's tests; python3 (Debian's, which any user can run)
# and util-linux's setpriv: the live endpoint's other-user test.
debs="build-essential pkg-config libzstd-dev libcjson-dev libncurses-dev zstd
valgrind man-db bash-completion tmux chromium libprotobuf-c-dev
protobuf-c-compiler zlib1g-dev golang-go fish zsh clang python3 util-linux"
missing=""
for p in $debs; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
        missing="$missing $p"
done
if [ -n "$missing" ]; then
    if [ "$(id -u)" -eq 0 ]; then sudo=""
    elif command -v sudo >/dev/null 2>&1; then sudo="sudo"
    else say "need root to install:$missing"; exit 1
    fi
    say "installing Debian packages:$missing"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq $missing >/dev/null
fi

if [ ! -x "$VENV/bin/python" ]; then
    say "creating $VENV with $($PYTHON --version 2>&1)"
    "$PYTHON" -m venv "$VENV"
fi
if ! "$VENV/bin/python" -c 'import mesonpy, pytest, zstandard, pyarrow, duckdb' 2>/dev/null ||
   [ ! -x "$VENV/bin/meson" ] || [ ! -x "$VENV/bin/ninja" ]; then
    say "installing Python build and test tools into $VENV"
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check \
        -r tools/requirements-dev.txt
fi
