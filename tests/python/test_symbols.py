"""The extension exports its module init and nothing else: libtms and
libtma are linked in statically and must not leak their symbols into the
process, where another extension could bind to them.  The dynamic symbol
table is read with binutils' nm (installed with the compiler)."""
import shutil
import subprocess

import pytest

import _tmtrace


@pytest.mark.skipif(shutil.which("nm") is None, reason="binutils' nm missing")
def test_only_pyinit_is_exported():
    out = subprocess.run(["nm", "-D", "--defined-only", _tmtrace.__file__],
                         capture_output=True, text=True, check=True).stdout
    names = [line.split()[-1] for line in out.splitlines() if line.strip()]
    functions = [line.split()[-1] for line in out.splitlines()
                 if len(line.split()) == 3 and line.split()[1] in "TtWw"]
    assert not [n for n in names if n.startswith(("tms_", "tma_", "tmt_"))]
    assert functions == ["PyInit__tmtrace"], functions
