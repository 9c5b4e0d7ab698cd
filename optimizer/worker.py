"""A search in a separate process: ``python -m optimizer.worker`` reads a pickled job on stdin
and writes the pickled result on stdout. Used by ``solver.solve`` to search on a second core
independently of the caller's ``__main__`` (no multiprocessing bootstrapping needed)."""

from __future__ import annotations

import os
import pickle
import sys


def main() -> None:
    from optimizer.solver import _run_search

    job = pickle.load(sys.stdin.buffer)
    try:
        result = _run_search(*job)
    except Exception as exc:  # reported to the parent, which keeps its own result
        result = {"error": f"{type(exc).__name__}: {exc}"}
    sys.stdout.buffer.write(pickle.dumps(result))
    sys.stdout.buffer.flush()
    os._exit(0)  # skip interpreter teardown: the parent is waiting


if __name__ == "__main__":
    main()
