"""Records the keras.io example's DCGAN, in Keras and in the PyTorch peer, for
`tests/test_reference.py`.

  pip install -e '.[bench]' && python tools/record_reference.py

Builds the keras.io example's networks at a reduced width (`SPEC`, 16x16x3) with fixed weights
(Keras' initializers, seeded, and random biases so that their mapping is checked too), then records
in `tests/fixtures/keras_reference.npz`:

  keras/*      the weights in Keras' layout, the latents and uint8 images fed in, G(z) and D(x)
               (the keras.io example's sigmoid output), and one step of the keras.io example's `GAN`
               class (the throughput benchmark's `keras_step.KerasExampleGAN`), run by `fit` exactly
               as the keras.io example runs it, with the updated weights and the two losses;
  torch/*      G(z), D(x) and one step of `benchmarks/frameworks/torch_step.py` on the same
               weights (converted to PyTorch's layout here) and the same draws;
  draws/*      the step's three random draws (latents for the discriminator's update, the label
               noise, latents for the generator's update) and the key jaxgan's step draws them
               from. The peers' own random calls are replaced by these, in the order the keras.io
               example makes them, so both frameworks and jaxgan see the same numbers.

The CI test loads the Keras-layout weights into jaxgan's networks and compares outputs and the
step; TensorFlow and PyTorch are needed only here. The versions that made the file are stored
in it (`versions`).
"""

import json
import os
import sys
from pathlib import Path

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '3')
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / 'benchmarks' / 'frameworks'))

import jax  # noqa: E402
import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import torch  # noqa: E402

import keras_step  # noqa: E402
import torch_step  # noqa: E402
from jaxgan import configs  # noqa: E402

PEER_NETWORKS = torch_step.networks  # make_step below is handed ours instead
OUT = ROOT / 'tests' / 'fixtures' / 'keras_reference.npz'
# The keras.io example's family (dcgan64's recipe: dropout inactive, label noise 0.05, Adam 1e-4)
# at 16x16x3.
CONFIG = configs.get('dcgan64').replace(image_size=16, g_base=2, g_dense_features=8,
                                        g_widths=(8, 8, 4), d_widths=(4, 8, 8), latent_dim=8,
                                        batch_size=4, g_lr=1e-3, d_lr=2e-3)
SPEC = {**CONFIG.to_dict(), 'dtype': 'float32'}


class ReplacedDraws:
  """Within the block, the named functions of `module` return the recorded arrays in call order,
  starting over after the last: `fit` may trace the train step more than once, and each trace
  makes the same calls in the same order. The originals come back after the block."""

  def __init__(self, module, **draws):
    self.module, self.draws = module, draws
    self.calls = dict.fromkeys(draws, 0)

  def __enter__(self):
    self.saved = {name: getattr(self.module, name) for name in self.draws}
    for name in self.draws:
      setattr(self.module, name, lambda *args, _name=name, **kwargs: self._next(_name))
    return self

  def _next(self, name):
    value = self.draws[name][self.calls[name] % len(self.draws[name])]
    self.calls[name] += 1
    return value

  def __exit__(self, *exc_info):
    for name, original in self.saved.items():
      setattr(self.module, name, original)
    for name, calls in self.calls.items():
      assert calls and calls % len(self.draws[name]) == 0, f'{name}: {calls} calls'


def jaxgan_draws(key, n, latent_dim):
  """The three draws jaxgan's step makes at step 0 (see jaxgan/games/adversarial.py):
  fold_in(key, step) splits into the critic's and the generator's keys; the critic's update 0 uses
  fold_in(k_d, 0); each splits into (latents, dropout, loss, augment, regularizer)."""
  k_d, k_g = jax.random.split(jax.random.fold_in(key, 0))
  k_z_d, _, k_noise, _, _ = jax.random.split(jax.random.fold_in(k_d, 0), 5)
  k_z_g = jax.random.split(k_g, 5)[0]
  return {'z_d': np.asarray(jax.random.normal(k_z_d, (n, latent_dim))),
          'noise': np.asarray(jax.random.uniform(k_noise, (2 * n,))),
          'z_g': np.asarray(jax.random.normal(k_z_g, (n, latent_dim)))}


def keras_weights(generator, discriminator):
  return {f'{name}/{i}': np.asarray(w) for name, net in (('G', generator), ('D', discriminator))
          for i, w in enumerate(net.get_weights())}


def _torch_layers(generator, discriminator):
  """(prefix, index, layer) for the weighted layers, in the order Keras lists their weights."""
  kinds = (torch.nn.Linear, torch.nn.Conv2d, torch.nn.ConvTranspose2d)
  return [(prefix, i, layer) for prefix, net in (('G', generator), ('D', discriminator))
          for i, layer in enumerate(m for m in net if isinstance(m, kinds))]


def _d_flatten_order(kernel):
  """Keras flattens the discriminator's features as (h, w, c), PyTorch's NCHW Flatten as
  (c, h, w): the Dense kernel's rows, reordered from Keras' order to PyTorch's."""
  size = CONFIG.image_size // 2 ** len(CONFIG.d_widths)
  channels = kernel.shape[0] // size ** 2
  return kernel.reshape(size, size, channels, -1).transpose(2, 0, 1, 3).reshape(kernel.shape)


def _d_flatten_order_back(kernel):
  size = CONFIG.image_size // 2 ** len(CONFIG.d_widths)
  channels = kernel.shape[0] // size ** 2
  return kernel.reshape(channels, size, size, -1).transpose(1, 2, 0, 3).reshape(kernel.shape)


def torch_networks(weights):
  """The PyTorch peer's networks holding the Keras weights, converted to PyTorch's layouts:
  Keras kernels are (h, w, in, out) for Conv2D, (h, w, out, in) for Conv2DTranspose, and PyTorch's
  (out, in, h, w) and (in, out, h, w): the same transpose for both."""
  generator, discriminator = PEER_NETWORKS(SPEC)
  with torch.no_grad():
    for prefix, i, layer in _torch_layers(generator, discriminator):
      kernel, bias = weights[f'{prefix}/{2 * i}'], weights[f'{prefix}/{2 * i + 1}']
      if isinstance(layer, torch.nn.Linear):
        kernel = (_d_flatten_order(kernel) if prefix == 'D' else kernel).T
      else:
        kernel = kernel.transpose(3, 2, 0, 1)
      layer.weight.copy_(torch.from_numpy(np.ascontiguousarray(kernel)))
      layer.bias.copy_(torch.from_numpy(bias))
  return generator, discriminator


def keras_layout(generator, discriminator):
  """The inverse of `torch_networks`: PyTorch's weights in Keras' layout and names."""
  weights = {}
  for prefix, i, layer in _torch_layers(generator, discriminator):
    kernel = layer.weight.detach().numpy()
    if isinstance(layer, torch.nn.Linear):
      kernel = _d_flatten_order_back(kernel.T) if prefix == 'D' else kernel.T
    else:
      kernel = kernel.transpose(2, 3, 1, 0)
    weights[f'{prefix}/{2 * i}'] = np.ascontiguousarray(kernel)
    weights[f'{prefix}/{2 * i + 1}'] = layer.bias.detach().numpy()
  return weights


def main():
  keras.utils.set_random_seed(0)
  rng = np.random.default_rng(0)
  n, latent = CONFIG.batch_size, CONFIG.latent_dim
  generator, discriminator = keras_step.networks(SPEC)
  for net in (generator, discriminator):  # random biases: their mapping is checked too
    net.set_weights([w if w.ndim > 1 else rng.uniform(-0.1, 0.1, w.shape).astype(np.float32)
                     for w in net.get_weights()])
  weights = keras_weights(generator, discriminator)
  z = rng.standard_normal((n, latent)).astype(np.float32)
  images = rng.integers(0, 256, (n, CONFIG.image_size, CONFIG.image_size, CONFIG.channels),
                        dtype=np.uint8)
  key = jax.random.key(1234)
  draws = jaxgan_draws(key, n, latent)
  record = {'draws/key': np.asarray(jax.random.key_data(key)),
            **{f'draws/{name}': value for name, value in draws.items()},
            'inputs/z': z, 'inputs/images': images,
            **{f'keras/weights/{name}': w for name, w in weights.items()}}

  # Keras: outputs, then one step of the keras.io example's train_step run by fit.
  x = images.astype(np.float32) / 255.0  # the keras.io example's pipeline rescales by 1/255
  record['keras/G(z)'] = np.asarray(generator(z))
  record['keras/D(x)'] = np.asarray(discriminator(x))[:, 0]
  gan = keras_step.KerasExampleGAN(discriminator, generator, latent)
  gan.compile(d_optimizer=keras.optimizers.Adam(CONFIG.d_lr),
              g_optimizer=keras.optimizers.Adam(CONFIG.g_lr),
              loss_fn=keras.losses.BinaryCrossentropy())
  with ReplacedDraws(tf.random, normal=[draws['z_d'], draws['z_g']],
                     uniform=[draws['noise'][:, None]]):
    history = gan.fit(x, batch_size=n, epochs=1, shuffle=False, verbose=0)
  record['keras/step/d_loss'] = np.float32(history.history['d_loss'][0])
  record['keras/step/g_loss'] = np.float32(history.history['g_loss'][0])
  record.update({f'keras/step/weights/{name}': w
                 for name, w in keras_weights(generator, discriminator).items()})

  # PyTorch: the same weights and draws through the throughput benchmark's peer.
  torch.set_num_threads(1)
  g_torch, d_torch = torch_networks(weights)
  with torch.no_grad():
    record['torch/G(z)'] = g_torch(torch.from_numpy(z)).permute(0, 2, 3, 1).numpy()
    record['torch/D(x)'] = torch.sigmoid(
        d_torch(torch.from_numpy(x).permute(0, 3, 1, 2)))[:, 0].numpy()
  built = []
  torch_step.networks = lambda spec: built.append(torch_networks(weights)) or built[-1]
  step, _ = torch_step.make_step(SPEC, images)
  with ReplacedDraws(torch, randn=[torch.from_numpy(draws['z_d']),
                                   torch.from_numpy(draws['z_g'])],
                     rand_like=[torch.from_numpy(draws['noise'][:, None])]):
    d_loss, g_loss = step()
  record['torch/step/d_loss'], record['torch/step/g_loss'] = np.float32(d_loss), np.float32(g_loss)
  record.update({f'torch/step/weights/{name}': w
                 for name, w in keras_layout(*built[0]).items()})

  record['versions'] = np.array(json.dumps({
      'script': 'tools/record_reference.py', 'tensorflow': tf.__version__,
      'keras': keras.__version__, 'torch': torch.__version__, 'jax': jax.__version__,
      'config': SPEC}))
  OUT.parent.mkdir(exist_ok=True)
  np.savez_compressed(OUT, **record)
  print(f'wrote {OUT.relative_to(ROOT)} ({OUT.stat().st_size} bytes)')


if __name__ == '__main__':
  main()
