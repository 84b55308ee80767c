"""PhaseConvTranspose must be nn.ConvTranspose with the same parameters, only faster."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import linen as nn

from jaxgan.nets.layers import PhaseConvTranspose


@pytest.mark.parametrize('kernel,stride,height,width', [
    (4, 2, 5, 7),  # the DCGAN layer, odd and non-square input
    (4, 2, 8, 8),
    (2, 2, 3, 4),
    (6, 2, 4, 5),
    (6, 3, 3, 4),
    (3, 1, 5, 5),
])
def test_matches_conv_transpose_forward_and_gradients(kernel, stride, height, width):
  x = jax.random.normal(jax.random.key(0), (2, height, width, 3))
  reference = nn.ConvTranspose(5, (kernel, kernel), (stride, stride), padding='SAME')
  fast = PhaseConvTranspose(5, kernel_size=kernel, strides=stride)
  params = reference.init(jax.random.key(1), x)
  # A non-zero bias, so its gradient and placement are checked too.
  params = jax.tree.map(lambda p: p + 0.1, params)
  assert jax.tree.map(jnp.shape, params) == jax.tree.map(jnp.shape, fast.init(jax.random.key(1), x))

  target = jax.random.normal(jax.random.key(2), (2, height * stride, width * stride, 5))

  def loss(module):
    return lambda p, x: jnp.sum((module.apply(p, x) - target) ** 2 * target)

  np.testing.assert_allclose(fast.apply(params, x), reference.apply(params, x), atol=1e-5)
  fast_grads = jax.grad(loss(fast), argnums=(0, 1))(params, x)
  reference_grads = jax.grad(loss(reference), argnums=(0, 1))(params, x)
  for got, want in zip(jax.tree.leaves(fast_grads), jax.tree.leaves(reference_grads)):
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)


def test_rejects_kernel_not_a_multiple_of_stride():
  with pytest.raises(ValueError, match='multiple'):
    PhaseConvTranspose(4, kernel_size=5, strides=2).init(jax.random.key(0), jnp.zeros((1, 4, 4, 2)))
