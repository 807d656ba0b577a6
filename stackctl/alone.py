"""One module of a library, loaded without running its package's __init__.

docker-py's and python-on-whales' package inits import their whole client (docker-py: requests,
urllib3, the API client, ~150 ms; python-on-whales: every component's pydantic models, ~80 ms)
where stackctl needs one module of each (docker.utils.build's .dockerignore matcher;
python_on_whales.utils' process runner). The module is loaded under placeholder parents;
every module loaded so is taken out of sys.modules again, so a later import of the package loads
the real one, untouched. Once the package is loaded, its own module is used.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import types

_loaded: dict[str, types.ModuleType] = {}


def module_alone(name: str) -> types.ModuleType:
    """`name` (package.sub.module), loaded once per process; its parent packages not initialised.
    The module may import siblings: they load the same way, and are its own from then on."""
    top = name.split(".")[0]
    if top in sys.modules:
        return importlib.import_module(name)
    if name in _loaded:
        return _loaded[name]
    root = importlib.util.find_spec(top).submodule_search_locations[0]
    parts = name.split(".")[:-1]
    before = set(sys.modules)
    for depth in range(1, len(parts) + 1):
        package = ".".join(parts[:depth])
        placeholder = types.ModuleType(package)
        placeholder.__path__ = ["/".join([root, *parts[1:depth]])]
        placeholder.__package__ = package
        sys.modules[package] = placeholder
    try:
        _loaded[name] = importlib.import_module(name)
    finally:
        for loaded in set(sys.modules) - before:
            if loaded == top or loaded.startswith(top + "."):
                del sys.modules[loaded]
    return _loaded[name]
