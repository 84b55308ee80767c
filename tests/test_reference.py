"""jaxgan's DCGAN equals the keras.io example's Keras model, output for output and step for step,
and the PyTorch peer of the throughput benchmark on the same weights.

`fixtures/keras_reference.npz` was recorded by `tools/record_reference.py` (TensorFlow,
Keras and PyTorch; the versions are stored in the file). It holds the keras.io example's networks at
a reduced width with fixed weights, their outputs, and one step of the keras.io example's
`train_step` (run by Keras' `fit`, as the keras.io example runs it) and of the PyTorch peer's step,
both fed the random draws jaxgan's step makes from the recorded key. Here the weights are loaded
into jaxgan's networks and the real jaxgan step runs once: no TensorFlow or PyTorch is needed.

Tolerances: outputs to 2e-6 of their scale (float32 convolutions summed in other orders); the
step's parameter updates to 2e-3 of each leaf's update scale (measured: 6e-5 against Keras,
6e-4 against PyTorch; Adam's first update is about lr * sign(gradient), so an error of sign or
scale in any gradient moves it by its whole size; the dropout active, the label noise left out or
the other Adam's epsilon each move it by 0.7 to 2).
"""

import json
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxgan import configs, families
from jaxgan.config import Config
from runs import assert_trees_close, step_of

FIXTURE = np.load(Path(__file__).parent / 'fixtures' / 'keras_reference.npz')
VERSIONS = json.loads(str(FIXTURE['versions']))
CONFIG = Config.from_dict(VERSIONS['config'])
# The PyTorch peer uses torch.optim.Adam: epsilon outside the bias correction, as optax's Adam.
CONFIGS = {'keras': CONFIG, 'torch': CONFIG.replace(optimizer='adam')}


def keras_to_jaxgan(weights: dict, config: Config) -> tuple[dict, dict]:
  """Keras weights of the keras.io example's `Sequential` models (`G/i`, `D/i` in `get_weights()`
  order) as jaxgan's generator and discriminator variables. Kernels keep Keras' layout (h, w, in,
  out), except Conv2DTranspose's (h, w, out, in): it computes the gradient of a convolution, which
  is `nn.ConvTranspose` with the kernel flipped in space and its channel axes swapped."""
  def layer(prefix, i, transpose=False):
    kernel = weights[f'{prefix}/{2 * i}']
    if transpose:
      kernel = kernel[::-1, ::-1].transpose(0, 1, 3, 2)
    return {'kernel': jnp.asarray(kernel), 'bias': jnp.asarray(weights[f'{prefix}/{2 * i + 1}'])}

  depth = len(config.g_widths)
  g = {'Dense_0': layer('G', 0),
       **{f'PhaseConvTranspose_{i}': layer('G', i + 1, transpose=True) for i in range(depth)},
       'Conv_0': layer('G', depth + 1)}
  depth = len(config.d_widths)
  d = {**{f'Conv_{i}': layer('D', i) for i in range(depth)}, 'Dense_0': layer('D', depth)}
  return {'params': g}, {'params': d}


def _recorded(prefix):
  return {name[len(prefix):]: FIXTURE[name] for name in FIXTURE.files if name.startswith(prefix)}


def _start_state(config):
  """jaxgan's step-0 state holding the recorded weights and key, optimizers freshly initialised."""
  generator, discriminator = families.networks(config)
  game = families.game(config)
  g_variables, d_variables = keras_to_jaxgan(_recorded('keras/weights/'), config)
  params = {'G': g_variables['params'], 'D': d_variables['params']}
  state = game.init(jax.random.key(config.seed))
  return generator, discriminator, state.replace(
      key=jax.random.wrap_key_data(FIXTURE['draws/key']), params=params,
      opt_state={name: game.optimizers[name].init(p) for name, p in params.items()})


def test_fixture_is_the_dcgan64_preset_at_a_reduced_width():
  """Every field but the sizes and the learning rates (raised so that one step moves the
  weights well above rounding) is `dcgan64`'s: the keras.io example's recipe as the preset trains
  it, its discriminator's dropout inactive included."""
  reduced = ('image_size', 'g_base', 'g_dense_features', 'g_widths', 'd_widths', 'latent_dim',
             'batch_size', 'g_lr', 'd_lr')
  preset = configs.get('dcgan64')
  assert CONFIG == preset.replace(**{field: getattr(CONFIG, field) for field in reduced})
  assert CONFIG.d_dropout == 0.0 and CONFIG.label_noise == 0.05 and CONFIG.loss == 'keras_bce'
  assert {'tensorflow', 'keras', 'torch'} <= set(VERSIONS)


@pytest.mark.parametrize('peer', ['keras', 'torch'])
def test_networks_equal_the_peer_output_for_output(peer):
  generator, discriminator, state = _start_state(CONFIG)
  images = FIXTURE['inputs/images'].astype(np.float32) / 255.0
  ours_g = generator.apply(state.variables('G'), FIXTURE['inputs/z'])
  ours_d = jax.nn.sigmoid(discriminator.apply(state.variables('D'), images, train=False))
  assert_trees_close(ours_g, FIXTURE[f'{peer}/G(z)'], rtol=2e-6)
  assert_trees_close(ours_d, FIXTURE[f'{peer}/D(x)'], rtol=2e-6)


@pytest.mark.parametrize('peer', ['keras', 'torch'])
def test_train_step_equals_the_peer_step(peer):
  """One jaxgan step from the recorded weights and key == the keras.io example's `train_step` under
  `fit` (dropout inactive, as there) or the PyTorch peer's step, fed the same draws."""
  config = CONFIGS[peer]
  generator, discriminator, state = _start_state(config)
  k_d, k_g = jax.random.split(jax.random.fold_in(state.key, 0))  # the draws the peers were fed
  # The same draws: a float's last bit may differ with LLVM's optimization level (the tests
  # compile at -O0, `conftest.py`); any other key would give other values entirely.
  np.testing.assert_allclose(
      jax.random.normal(jax.random.split(jax.random.fold_in(k_d, 0), 5)[0],
                        FIXTURE['draws/z_d'].shape), FIXTURE['draws/z_d'], rtol=1e-6)
  before = (state.variables('G'), state.variables('D'))
  step = jax.jit(step_of(config))
  state, metrics = step(state, {'image': FIXTURE['inputs/images']})
  np.testing.assert_allclose(metrics['d/loss'], FIXTURE[f'{peer}/step/d_loss'], rtol=1e-5)
  np.testing.assert_allclose(metrics['g/loss'], FIXTURE[f'{peer}/step/g_loss'], rtol=1e-5)
  want = keras_to_jaxgan(_recorded(f'{peer}/step/weights/'), config)
  updates = jax.tree.map(lambda new, old: new - old, (state.variables('G'), state.variables('D')),
                         before)
  want_updates = jax.tree.map(lambda new, old: new - old, want, before)
  assert_trees_close(updates, want_updates, rtol=2e-3)
