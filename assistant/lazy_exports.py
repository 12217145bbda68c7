"""PEP 562 lazy package exports: `import pkg` stays cheap; `pkg.Name` imports the defining module on first use.

Config loading imports every component's `config` module, which imports its package's `__init__`; eager
re-exports there would pull langchain, pandas or torch into every CLI start-up (seconds each).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping


def lazy_exports(package: str, exports: Mapping[str, str], namespace: dict) -> Callable[[str], object]:
    """Return a module-level `__getattr__` resolving `exports` (name -> module) on first access."""

    def __getattr__(name: str) -> object:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        namespace[name] = value  # later look-ups skip this function
        return value

    return __getattr__
