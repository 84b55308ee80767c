"""The throughput benchmark's peers build what jaxgan builds, and Keras runs the keras.io example's
`train_step` as the `dcgan64` preset assumes. Each check runs in its own process where
`pip install -e '.[bench]'` installed TensorFlow and PyTorch, and is skipped otherwise (as in
CI). The PyTorch translation peer's networks compute what jaxgan's do on the same weights."""

import importlib.util
import json
import subprocess
import sys

import jax
import numpy as np
import pytest

from jaxgan import configs, families
from jaxgan.nets.translation_weights import from_state_dict
from runs import ROOT, start

COUNT_PARAMETERS = {
    'keras': 'import keras_step as peer\n'
             'counts = [net.count_params() for net in peer.networks(spec)]',
    'torch': 'import torch_step as peer\n'
             'counts = [sum(p.numel() for p in net.parameters()) for net in peer.networks(spec)]',
}

# A model whose train_step calls a Dropout(0.5) network the way the keras.io example's calls its
# discriminator (no `training` argument), trained by `fit`; it reports the zeroed fraction.
SEED_DROPOUT = """
import keras, numpy as np, tensorflow as tf
class Probe(keras.Model):
  def __init__(self):
    super().__init__()
    self.net = keras.Sequential([keras.Input((1000,)), keras.layers.Dropout(0.5)])
    self.zeroed = keras.metrics.Mean()
  def train_step(self, x):
    self.zeroed.update_state(tf.reduce_mean(tf.cast(self.net(x{training}) == 0, tf.float32)))
    return {{'zeroed': self.zeroed.result()}}
probe = Probe()
probe.compile()
history = probe.fit(np.ones((4, 1000), np.float32), batch_size=4, epochs=1, verbose=0)
print(history.history['zeroed'][0])
"""


def _run(module: str, code: str, args=()) -> str:
  if importlib.util.find_spec(module) is None:
    pytest.skip(f'{module} is not installed (pip install -e ".[bench]")')
  result = subprocess.run([sys.executable, '-c', code, *args], capture_output=True, text=True,
                          timeout=300, cwd=ROOT / 'benchmarks' / 'frameworks')
  assert result.returncode == 0, result.stderr[-3000:]
  return result.stdout.strip().splitlines()[-1]


@pytest.mark.slow
@pytest.mark.parametrize('framework,module', [('keras', 'tensorflow'), ('torch', 'torch')])
@pytest.mark.parametrize('preset', ['dcgan64', 'dcgan32'])
def test_peer_networks_have_jaxgan_parameter_counts(framework, module, preset):
  config = configs.get(preset)
  state = start(config)
  ours = [sum(leaf.size for leaf in jax.tree.leaves(state.params[name])) for name in ('G', 'D')]
  spec = json.dumps(config.to_dict())
  code = f'import json\nspec = json.loads({spec!r})\n{COUNT_PARAMETERS[framework]}\nprint(counts)'
  assert json.loads(_run(module, code)) == ours


def test_keras_keeps_dropout_inactive_in_a_train_step_like_the_examples():
  assert float(_run('tensorflow', SEED_DROPOUT.format(training=''))) == 0.0
  assert float(_run('tensorflow', SEED_DROPOUT.format(training=', training=True'))) > 0.3


# The PyTorch translation peer's networks at a preset's sizes, every parameter and running
# statistic random (so a misplaced bias or a swapped statistic shows), each run in training mode
# on a random input in float64 (the exact output, for the comparison) and in float32 (the
# rounding error a float32 run of this network has): their state dicts, inputs and outputs.
TRANSLATION_PEER = """
import json, sys, numpy as np, torch, torch_translation as peer
torch.manual_seed(0)
torch.set_default_dtype(torch.float64)
spec, out = json.loads(sys.argv[1]), sys.argv[2]
saved = {}
for name, net in peer.networks(spec).items():
  with torch.no_grad():
    for key, tensor in net.state_dict().items():
      if tensor.is_floating_point():
        value = (torch.rand_like(tensor) + 0.5 if key.endswith('running_var')
                 else torch.randn_like(tensor) * 0.3)
        tensor.copy_(value.float())  # values that float32 holds exactly
  saved.update({f'{name}/state/{k}': v.float().numpy() for k, v in net.state_dict().items()})
  saved[f'{name}/parameters'] = np.array(sum(p.numel() for p in net.parameters()))
  channels = next(net.parameters()).shape[1] if name.startswith('D') else spec['channels']
  x = torch.randn(3, channels, spec['image_size'], spec['image_size']).float()
  saved[f'{name}/input'] = x.permute(0, 2, 3, 1).numpy()
  for dtype in (torch.float64, torch.float32):
    y = net.to(dtype).train()(x.to(dtype)).detach().permute(0, 2, 3, 1)
    saved[f'{name}/output/{str(dtype)[6:]}'] = y.double().numpy()
np.savez(out, **saved)
print(out)
"""


@pytest.mark.slow
@pytest.mark.parametrize('preset', ['pix2pix', 'cyclegan'])
def test_torch_translation_peer_computes_jaxgans_networks(preset, tmp_path):
  """Every network of the PyTorch peer loads into jaxgan's (the reference's names and shapes,
  `from_state_dict`), has as many parameters, and on the same weights and input in training
  mode (batch statistics) computes the exact output as closely as PyTorch's own float32 run
  does (within twice its error: float32 rounding through a dozen normalized layers reaches
  1e-5 of the output's scale, where a misplaced layer moves it by far more)."""
  config = configs.get(preset)
  spec = json.dumps(config.to_dict())
  _run('torch', TRANSLATION_PEER, args=[spec, str(tmp_path / 'peer.npz')])
  recorded = np.load(tmp_path / 'peer.npz')
  generator, discriminator = families.networks(config)
  names = ('G', 'D') if preset == 'pix2pix' else ('G_ab', 'G_ba', 'D_a', 'D_b')
  for name in names:
    net = generator if name.startswith('G') else discriminator
    prefix = f'{name}/state/'
    state = {k[len(prefix):]: recorded[k] for k in recorded.files if k.startswith(prefix)}
    x = recorded[f'{name}/input']
    condition = x.shape[-1] - config.channels  # pix2pix's D sees cat(source, image)
    args, kwargs = (x[..., condition:],), ({'condition': x[..., :condition]} if condition else {})
    variables = jax.eval_shape(lambda: net.init(jax.random.key(0), *args, train=False, **kwargs))
    variables = from_state_dict(net, state, variables)
    assert sum(leaf.size for leaf in jax.tree.leaves(variables['params'])) == int(
        recorded[f'{name}/parameters']), name
    out, _ = net.apply(variables, *args, train=True, update_stats=True, mutable=True,
                       rngs={'dropout': jax.random.key(0)}, **kwargs)
    exact, torch_float32 = recorded[f'{name}/output/float64'], recorded[f'{name}/output/float32']
    ours = np.abs(np.asarray(out, np.float64).reshape(exact.shape) - exact).max()
    theirs = np.abs(torch_float32 - exact).max()
    assert ours <= 2 * theirs + 1e-7 * np.abs(exact).max(), (name, ours, theirs)
