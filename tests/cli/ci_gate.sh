#!/bin/sh
# CI gating as users will write it: fail the build when memory grew by
# more than 1 MiB between two snapshots, and see the offender.
set -u
: "${TMTOOL:?TMTOOL must name the built tmtool}" "${MKSNAP:?}"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

# old: 100 KiB in app.py:10; new: the same plus 2 MiB in cache.py:42
"$MKSNAP" "$dir/old.tms" <<'SPEC' || exit 1
header 1 1700000000000000000 1 0123456789abcdef0123456789abcdef
trace 0x1000 102400 /srv/app/app.py:10
stat /srv/app/app.py:10 102400 1
SPEC
"$MKSNAP" "$dir/new.tms" <<'SPEC' || exit 1
header 1 1700000100000000000 1 0123456789abcdef0123456789abcdef
trace 0x1000 102400 /srv/app/app.py:10
trace 0x2000 2097152 /srv/app/cache.py:42
stat /srv/app/app.py:10 102400 1
stat /srv/app/cache.py:42 2097152 1
SPEC

fail() { echo "ci_gate: $*" >&2; exit 1; }

"$TMTOOL" diff --fail-if-growth 1MiB "$dir/old.tms" "$dir/new.tms" \
    >"$dir/out" 2>"$dir/err" || { status=$?; echo "leak!" >>"$dir/out"; }
[ "${status:-0}" -eq 1 ] || fail "expected exit 1, got ${status:-0}"
grep -q '^leak!$' "$dir/out" || fail "the || branch did not run"
grep -q 'cache.py:42: size=2048 KiB (+2048 KiB)' "$dir/out" ||
    fail "offender not printed: $(cat "$dir/out")"
[ "$(wc -l <"$dir/err")" -eq 1 ] || fail "want one stderr line: $(cat "$dir/err")"
grep -q -- '--fail-if-growth 1MiB' "$dir/err" || fail "threshold not named: $(cat "$dir/err")"

# under the threshold: success, the pipeline goes on
"$TMTOOL" diff --fail-if-growth 3MiB "$dir/old.tms" "$dir/new.tms" >/dev/null ||
    fail "3MiB should pass"
# per site, as a percentage: cache.py is new (0 -> 2 MiB), app.py unchanged
"$TMTOOL" diff --format json --fail-if-site-growth 50% "$dir/old.tms" "$dir/new.tms" \
    >"$dir/json" 2>/dev/null && fail "site gate should fail"
grep -q '"breached":	true' "$dir/json" || fail "JSON lacks breached: true"
echo "ci_gate: ok"
