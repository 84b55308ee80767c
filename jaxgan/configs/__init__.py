"""The presets of every registered family (`jaxgan.families`), by name: `get(name)` looks one up.
Each preset is a function of its family's module returning a `Config`, its docstring carrying
its command and its measured result."""

from jaxgan import families
from jaxgan.config import Config

PRESETS = families.presets()
DEFAULT = 'digits'


def get(name: str) -> Config:
  """The preset `name`, of any family registered so far."""
  presets = families.presets()
  if name not in presets:
    raise KeyError(f'unknown config {name!r}; presets: {", ".join(presets)}')
  return presets[name]()
