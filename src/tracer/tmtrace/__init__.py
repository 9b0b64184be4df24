"""tmtrace: trace Python memory allocations (the PEP 454 API of 2013-10-03).

Placeholder: the API lands with the tracer work.
"""
import _tmtrace  # noqa: F401

__version__ = "0.1.0"
