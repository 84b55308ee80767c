"""The fast layers must compute what XLA's own (transposed) convolutions compute, with the same
parameters: forward and both gradients."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import linen as nn

from jaxgan.nets import layers, winograd
from jaxgan.nets.layers import PhaseConvTranspose, matmul_conv


def assert_same_outputs_and_gradients(fast, reference, params, x):
  """Same output, and same gradients in the parameters and the input, of a loss that weights
  every output element differently. Jitted: op by op, each layer's gradients compiled dozens of
  small programs, slower than the whole at once."""
  target = jax.random.normal(jax.random.key(2), jax.eval_shape(reference.apply, params, x).shape)

  def loss(module):
    return lambda p, x: jnp.sum((module.apply(p, x) - target) ** 2 * target)

  np.testing.assert_allclose(jax.jit(fast.apply)(params, x), jax.jit(reference.apply)(params, x),
                             atol=1e-5)
  fast_grads = jax.jit(jax.grad(loss(fast), argnums=(0, 1)))(params, x)
  reference_grads = jax.jit(jax.grad(loss(reference), argnums=(0, 1)))(params, x)
  for got, want in zip(jax.tree.leaves(fast_grads), jax.tree.leaves(reference_grads)):
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize('kernel,stride,height,width', [
    (4, 2, 5, 7),  # the DCGAN layer, odd and non-square input
    (4, 2, 8, 8),
    (2, 2, 3, 4),
    (6, 2, 4, 5),
    (6, 3, 3, 4),
    (3, 1, 5, 5),
])
@pytest.mark.parametrize('conv', [matmul_conv, jax.lax.conv_general_dilated],
                         ids=['cpu', 'gpu_tpu'])
def test_matches_conv_transpose_forward_and_gradients(kernel, stride, height, width, conv,
                                                      monkeypatch):
  monkeypatch.setattr(layers, 'conv_for_backend', lambda: conv)  # both backends' code paths
  x = jax.random.normal(jax.random.key(0), (2, height, width, 3))
  reference = nn.ConvTranspose(5, (kernel, kernel), (stride, stride), padding='SAME')
  fast = PhaseConvTranspose(5, kernel_size=kernel, strides=stride)
  params = reference.init(jax.random.key(1), x)
  # A non-zero bias, so its gradient and placement are checked too.
  params = jax.tree.map(lambda p: p + 0.1, params)
  assert jax.tree.map(jnp.shape, params) == jax.tree.map(jnp.shape, fast.init(jax.random.key(1), x))
  assert reference.apply(params, x).shape == (2, height * stride, width * stride, 5)
  assert_same_outputs_and_gradients(fast, reference, params, x)


@pytest.mark.parametrize('kernel,stride,height,width', [
    (4, 2, 5, 7),  # the DCGAN layer: odd, non-square, tiles past the edge
    (4, 2, 9, 8),
    (6, 3, 3, 4),  # nine phases
    (2, 1, 6, 5),  # one phase: a plain 2x2 convolution
])
def test_winograd_matches_conv_transpose_forward_and_gradients(kernel, stride, height, width):
  x = jax.random.normal(jax.random.key(0), (2, height, width, 3))
  reference = nn.ConvTranspose(5, (kernel, kernel), (stride, stride), padding='SAME')
  fast = PhaseConvTranspose(5, kernel_size=kernel, strides=stride, algorithm='winograd')
  params = jax.tree.map(lambda p: p + 0.1, reference.init(jax.random.key(1), x))
  assert_same_outputs_and_gradients(fast, reference, params, x)


def test_winograd_transforms_compute_a_correlation_exactly():
  """Y = A^T [(G g) * (B^T d)]: the 4 outputs of a 2-tap correlation over 5 inputs, to rounding."""
  rng = np.random.default_rng(0)
  d, g = rng.standard_normal((5, 100)), rng.standard_normal((2, 100))
  a_t, g_, b_t = (np.array(m, np.float64) for m in (winograd.A_T, winograd.G, winograd.B_T))
  np.testing.assert_allclose(a_t @ ((g_ @ g) * (b_t @ d)), d[:4] * g[0] + d[1:] * g[1],
                             rtol=0, atol=1e-12)


def test_winograd_in_bfloat16_computes_in_float32():
  """Transformed in bfloat16, F(4x4, 2x2)'s points lose about 7x the direct algorithm's
  precision; computed in float32, a bfloat16 layer is the float32 one rounded once."""
  x = jax.random.normal(jax.random.key(0), (2, 8, 8, 16))
  kernel = jax.random.normal(jax.random.key(1), (4, 4, 16, 8)) / 8
  bf16 = layers.conv_transpose_by_phases(x.astype(jnp.bfloat16), kernel.astype(jnp.bfloat16), 2,
                                         'winograd')
  assert bf16.dtype == jnp.bfloat16
  rounded = [a.astype(jnp.bfloat16).astype(jnp.float32) for a in (x, kernel)]
  np.testing.assert_allclose(bf16.astype(jnp.float32),
                             layers.conv_transpose_by_phases(*rounded, 2, 'winograd')
                             .astype(jnp.bfloat16).astype(jnp.float32), rtol=0, atol=0)


@pytest.mark.parametrize('shape,features,dtype,backend,picked', [
    ((8, 32, 32, 256), 512, jnp.float32, 'cpu', True),  # dcgan64's last layer, batch 8: 512 tiles
    ((32, 16, 16, 128), 256, jnp.float32, 'cpu', True),
    ((8, 32, 32, 256), 512, jnp.float32, 'gpu', False),
    ((8, 32, 32, 256), 512, jnp.bfloat16, 'cpu', False),
    ((2, 32, 32, 256), 512, jnp.float32, 'cpu', False),  # 128 tiles
    ((32, 16, 16, 128), 128, jnp.float32, 'cpu', False),
    ((32, 16, 16, 128), 64, jnp.float32, 'cpu', False),
])
def test_auto_picks_winograd_for_large_float32_layers_on_cpu(shape, features, dtype, backend,
                                                             picked, monkeypatch):
  calls = []
  monkeypatch.setattr(layers.jax, 'default_backend', lambda: backend)
  monkeypatch.setattr(layers, '_conv_transpose_winograd', lambda *args: calls.append(args))
  kernel = jnp.zeros((4, 4, shape[-1], features), dtype)
  jax.eval_shape(lambda x: layers.conv_transpose_by_phases(x, kernel, 2),
                 jax.ShapeDtypeStruct(shape, dtype))
  assert bool(calls) == picked


def test_rejects_an_unknown_algorithm_and_winograd_for_other_windows():
  x = jnp.zeros((1, 4, 4, 2))
  with pytest.raises(ValueError, match='algorithm'):
    PhaseConvTranspose(4, algorithm='fft').init(jax.random.key(0), x)
  with pytest.raises(ValueError, match='twice the stride'):
    PhaseConvTranspose(4, kernel_size=6, strides=2, algorithm='winograd').init(jax.random.key(0), x)


def test_rejects_kernel_not_a_multiple_of_stride():
  with pytest.raises(ValueError, match='multiple'):
    PhaseConvTranspose(4, kernel_size=5, strides=2).init(jax.random.key(0), jnp.zeros((1, 4, 4, 2)))


@pytest.mark.parametrize('kernel,stride,padding,channels', [
    (4, 2, 'SAME', (3, 8)),  # the discriminator's layers: patches times the flat kernel
    (5, 1, 'SAME', (8, 3)),  # the generator's output layer: fewer outputs, the taps' shifted sum
    (3, 1, 'SAME', (4, 6)),
    (3, 2, 'VALID', (5, 2)),
    (2, 1, ((1, 0), (0, 2)), (6, 2)),
    (1, 2, 'VALID', (2, 3)),  # a stride larger than the kernel: input pixels no patch reads
])
def test_matmul_conv_matches_xla_convolution(kernel, stride, padding, channels):
  c_in, c_out = channels
  x = jax.random.normal(jax.random.key(0), (2, 9, 7, c_in))
  reference = nn.Conv(c_out, (kernel, kernel), stride, padding=padding)
  fast = nn.Conv(c_out, (kernel, kernel), stride, padding=padding,
                 conv_general_dilated=matmul_conv)
  params = jax.tree.map(lambda p: p + 0.1, reference.init(jax.random.key(1), x))
  assert_same_outputs_and_gradients(fast, reference, params, x)


@pytest.mark.parametrize('kernel,stride,padding', [(4, 2, 'SAME'), (3, 2, 'VALID'), (3, 1, 'SAME')])
def test_matmul_conv_second_derivatives_match_xla_convolution(kernel, stride, padding):
  """A gradient penalty differentiates the input gradient (the patches' written-out VJP) again."""
  x = jax.random.normal(jax.random.key(0), (2, 9, 7, 3))
  reference = nn.Conv(5, (kernel, kernel), stride, padding=padding)
  fast = nn.Conv(5, (kernel, kernel), stride, padding=padding, conv_general_dilated=matmul_conv)
  params = jax.tree.map(lambda p: p + 0.1, reference.init(jax.random.key(1), x))

  def penalty(module):
    def critic(x, p):
      return jnp.sum(jnp.tanh(module.apply(p, x)))
    return lambda p: jnp.sum(jnp.square(jax.grad(critic)(x, p)))

  for got, want in zip(jax.tree.leaves(jax.jit(jax.grad(penalty(fast)))(params)),
                       jax.tree.leaves(jax.jit(jax.grad(penalty(reference)))(params))):
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)


def test_matmul_conv_hands_dilation_to_xla():
  x = jax.random.normal(jax.random.key(0), (1, 8, 8, 2))
  kernel = jax.random.normal(jax.random.key(1), (3, 3, 2, 4))
  args = (x, kernel, (1, 1), 'SAME')
  kwargs = {'rhs_dilation': (2, 2), 'dimension_numbers': ('NHWC', 'HWIO', 'NHWC')}
  np.testing.assert_allclose(matmul_conv(*args, **kwargs),
                             jax.lax.conv_general_dilated(*args, **kwargs), atol=1e-5)
