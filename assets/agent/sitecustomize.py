"""Written by `threadscope exec` into a private directory it puts first on
the program's PYTHONPATH: loads threadscope's agent before the program
runs, then the sitecustomize this one hides (the next on the path), and
takes its directory off sys.path again, so the program sees the path it
would have had."""

import os
import sys

_here = os.path.dirname(os.path.abspath(__file__))

try:
    import threadscope_agent  # noqa: F401  (importing it starts it)
except Exception as _err:  # the program runs in any case
    sys.stderr.write("threadscope agent: not loaded: %s: %s\n" % (type(_err).__name__, _err))


def _without_here(path):
    return [p for p in path if os.path.abspath(p or os.curdir) != _here]


def _chain():
    import importlib

    sys.path[:] = _without_here(sys.path)
    ours = sys.modules.pop("sitecustomize", None)
    try:
        importlib.import_module("sitecustomize")
    except ImportError as err:
        if err.name != "sitecustomize":
            raise
    finally:
        # `import sitecustomize` (site.py's) ends by reading sys.modules:
        # ours stays there when there is no other.
        sys.modules.setdefault("sitecustomize", ours)


_chain()
