"""Checking compiled weights against ground truth (`logdepth verify`).

`logdepth.verify(model, oracle=fn, ...)` is this package called as a function: it runs
`logdepth.api.verify` (a module cannot otherwise be both a package and the function the API
names, and `import logdepth.verify.words` must keep working).
"""

import sys
import types
from typing import Any


class _CallablePackage(types.ModuleType):
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """`logdepth.api.verify(*args, **kwargs)`."""
        from logdepth.api import verify

        return verify(*args, **kwargs)


sys.modules[__name__].__class__ = _CallablePackage
