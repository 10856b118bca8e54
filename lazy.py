"""Heavy modules and objects built at their first use (issue 10: start-up).

Contract:
- `numpy` stands for the numpy module: `from klipsim.lazy import numpy as
  np` reads like `import numpy as np`, but numpy (about 0.1 s of CPU) is
  imported only when an attribute of `np` is first read.  Each attribute
  read is then stored on the stand-in, so later reads cost what a module
  attribute read costs.  Nothing at module level of an importer may read
  `np.X` (that would import numpy at once); annotations naming numpy
  types need `from __future__ import annotations`.
- `default_rng(seed)` stands for `numpy.random.default_rng(seed)`: the
  Generator is created from the same seed at the first attribute read
  (its first draw), so every draw is the one the eager Generator gives,
  and a run that draws nothing never imports numpy.
"""
import importlib


class LazyModule:
    """A module imported when one of its attributes is first read."""

    def __init__(self, name):
        self.__dict__["_lazy_name"] = name

    def __getattr__(self, attr):
        # Called only when `attr` is not stored yet (first read); _lazy_*
        # are missing only on an instance not built by __init__ (copy).
        if attr.startswith("_lazy"):
            raise AttributeError(attr)
        value = getattr(importlib.import_module(self._lazy_name), attr)
        self.__dict__[attr] = value
        return value

    def __repr__(self):
        return "<lazy module %r>" % self._lazy_name


class LazyGenerator:
    """numpy.random.default_rng(seed), created at the first attribute read.

    The stand-in forwards every attribute (methods such as integers,
    random, bit_generator) to the one Generator it creates, so draws
    come from that single stream in call order, as from the eager one."""

    def __init__(self, seed):
        self.__dict__["_lazy_seed"] = seed

    @property
    def generator(self):
        """The numpy Generator itself (created now if it is not yet)."""
        gen = self.__dict__.get("_lazy_generator")
        if gen is None:
            gen = numpy.random.default_rng(self._lazy_seed)
            self.__dict__["_lazy_generator"] = gen
        return gen

    def __getattr__(self, attr):
        if attr.startswith("_lazy"):
            raise AttributeError(attr)
        value = getattr(self.generator, attr)
        self.__dict__[attr] = value
        return value

    def __repr__(self):
        return "<lazy Generator seed=%r>" % (self._lazy_seed,)


numpy = LazyModule("numpy")


def default_rng(seed):
    """A LazyGenerator standing for numpy.random.default_rng(seed)."""
    return LazyGenerator(seed)
