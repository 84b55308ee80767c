"""A per-layer table in the spirit of Keras' `Model.summary()`."""

import jax
import numpy as np
from flax import linen as nn


def param_count(params) -> int:
  return sum(int(np.prod(leaf.shape)) for leaf in jax.tree.leaves(params))


def summarize(module: nn.Module, *args, title: str = '', **kwargs) -> str:
  """One row per top-level layer, in call order: name, type, output shape, parameters.

  Traced with `jax.eval_shape`, so nothing is computed. Activations that are plain functions in
  Flax (LeakyReLU, reshape) are not layers and do not appear; they have no parameters.
  """
  calls = []

  def record(next_fun, call_args, call_kwargs, context):
    out = next_fun(*call_args, **call_kwargs)
    layer = context.module
    if context.method_name == '__call__' and len(layer.scope.path) == 1:
      calls.append((layer.name, type(layer).__name__, (None, *out.shape[1:])))
    return out

  def init(key):
    with nn.intercept_methods(record):
      return module.init({'params': key, 'dropout': key}, *args, **kwargs)['params']

  params = jax.eval_shape(init, jax.random.key(0))
  rows = [('Layer', 'Type', 'Output shape', 'Param #')]
  rows += [(name, kind, str(shape), f'{param_count(params.get(name, {})):,}')
           for name, kind, shape in calls]
  widths = [max(len(row[i]) for row in rows) for i in range(4)]
  rule = '-' * (sum(widths) + 6)

  def line(row):
    return '  '.join([*(cell.ljust(w) for cell, w in zip(row[:3], widths)),
                      row[3].rjust(widths[3])])

  return '\n'.join([f'Model: {title or type(module).__name__}', rule, line(rows[0]), rule,
                    *map(line, rows[1:]), rule, f'Total params: {param_count(params):,}'])
