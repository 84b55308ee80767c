"""The throughput benchmark's peers build what jaxgan builds, and Keras runs the seed's
`train_step` as the `dcgan64` preset assumes. Each check runs in its own process where
`pip install -e '.[bench]'` installed TensorFlow and PyTorch, and is skipped otherwise (as in
CI)."""

import dataclasses
import importlib.util
import json
import subprocess
import sys

import jax
import pytest

from jaxgan import configs, nets
from runs import ROOT, start

COUNT_PARAMETERS = {
    'keras': 'import keras_step as peer\n'
             'counts = [net.count_params() for net in peer.networks(spec)]',
    'torch': 'import torch_step as peer\n'
             'counts = [sum(p.numel() for p in net.parameters()) for net in peer.networks(spec)]',
}

# A model whose train_step calls a Dropout(0.5) network the way the seed's calls its
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


def _run(module: str, code: str) -> str:
  if importlib.util.find_spec(module) is None:
    pytest.skip(f'{module} is not installed (pip install -e ".[bench]")')
  result = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                          timeout=300, cwd=ROOT / 'benchmarks' / 'frameworks')
  assert result.returncode == 0, result.stderr[-3000:]
  return result.stdout.strip().splitlines()[-1]


@pytest.mark.parametrize('framework,module', [('keras', 'tensorflow'), ('torch', 'torch')])
@pytest.mark.parametrize('preset', ['dcgan64', 'dcgan32'])
def test_peer_networks_have_jaxgan_parameter_counts(framework, module, preset):
  config = configs.get(preset)
  state = start(config)
  ours = [sum(leaf.size for leaf in jax.tree.leaves(state.params[name])) for name in ('G', 'D')]
  spec = json.dumps(dataclasses.asdict(config))
  code = f'import json\nspec = json.loads({spec!r})\n{COUNT_PARAMETERS[framework]}\nprint(counts)'
  assert json.loads(_run(module, code)) == ours


def test_keras_keeps_dropout_inactive_in_a_train_step_like_the_seeds():
  assert float(_run('tensorflow', SEED_DROPOUT.format(training=''))) == 0.0
  assert float(_run('tensorflow', SEED_DROPOUT.format(training=', training=True'))) > 0.3
