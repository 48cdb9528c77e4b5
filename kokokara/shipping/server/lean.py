"""Keeps server processes lean.

pandas 3 imports pyarrow as soon as it is imported, whenever pyarrow is installed (it is, for the
analysts' Parquet exports on the client side). That costs a server process about 75 MB of resident
memory and a few hundred milliseconds of start-up, and a server never uses Arrow: it reads the
rate tables once with pandas' own CSV reader and Python-backed strings. Server entry points call
skip_pyarrow() before anything imports pandas.
"""

from __future__ import annotations

import sys


def skip_pyarrow() -> bool:
    """Makes `import pyarrow` fail in this process (pandas then does without it). Returns False,
    changing nothing, when pandas or pyarrow is already imported."""
    if "pandas" in sys.modules or sys.modules.get("pyarrow") is not None:
        return False
    sys.modules["pyarrow"] = None  # type: ignore[assignment]  # the documented way to block an import
    return True
