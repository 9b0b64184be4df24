"""Smoke check that the extension built for this interpreter loads.

Replaced by behaviour tests as the tracer lands."""
import sys


def test_extension_matches_interpreter():
    import _tmtrace
    # The module must be the one built for this exact interpreter.
    tag = "cpython-%d%d" % sys.version_info[:2]
    assert tag in _tmtrace.__file__
