"""The fake engine is the engine's shape: every public method, the same parameters."""

import inspect

from stackctl.engine import Engine
from tests.unit.fakes import FakeEngine


def public(cls):
    return {name: inspect.signature(member) for name, member in vars(cls).items()
            if not name.startswith("_") and callable(member)}


def test_fake_engine_has_every_engine_method_with_its_parameters():
    real, fake = public(Engine), public(FakeEngine)
    assert set(real) <= set(fake), set(real) - set(fake)
    for name, signature in real.items():
        assert list(signature.parameters) == list(fake[name].parameters), name
