"""A family defined outside jaxgan (tests/plugin_family.py) needs no edit of jaxgan: registered
through the public API, it trains in the loop, checkpoints, resumes exactly, samples, sets and
refuses its fields, and runs from the commands with $JAXGAN_FAMILIES."""

import importlib
import json
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image
from runs import QUIET, QUIET_FLAGS, ROOT, assert_bitwise_equal, final_state

from jaxgan import config as config_module
from jaxgan import configs, families, sample, train
from jaxgan.config import Config

FAMILY_FILE = str(ROOT / 'tests' / 'plugin_family.py')
TINY = {'steps': 4, 'batch_size': 8, 'log_every': 1, 'checkpoint_every': 2, 'sample_grid': 4}


@pytest.fixture
def plugin_family():
  """The module, its family registered for one test; the registry as it was afterwards (other
  tests list the built-in families)."""
  saved = dict(families.REGISTRY), dict(config_module.SECTIONS)
  module = importlib.import_module('plugin_family')
  yield importlib.reload(module)  # registers again
  for registry, before in zip((families.REGISTRY, config_module.SECTIONS), saved):
    registry.clear()
    registry.update(before)


def test_the_registry_knows_the_family_and_its_preset(plugin_family):
  assert families.get('tinyconv') is plugin_family.FAMILY
  config = configs.get('tinyconv')
  assert families.of(config).section is plugin_family.TinyConv
  # Its fields are set and read by name, as the built-in families' are; foreign ones refused.
  assert config.replace(width=4).width == 4
  assert config.override(['width=8', 'r1_gamma=1']).family == plugin_family.TinyConv(
      latent_dim=16, width=8, ema_decay=0.99, r1_gamma=1.0)
  with pytest.raises(ValueError, match="g_widths.*dcgan"):
    config.replace(g_widths=(8,))
  with pytest.raises(ValueError, match='8x8'):
    config.replace(image_size=16)
  # The config written with a run reads back equal.
  assert Config.from_dict(json.loads(json.dumps(config.to_dict()))) == config


def test_a_plugin_family_trains_resumes_exactly_and_samples(tmp_path, plugin_family):
  config = configs.get('tinyconv').replace(**TINY)
  whole = train.run(config, tmp_path / 'whole', **QUIET)
  assert whole['digits_check']['num_samples'] == 1000  # its end-of-run check is the digits'
  train.run(config, tmp_path / 'halves', until=2, **QUIET)
  train.run(config, tmp_path / 'halves', **QUIET)
  game = families.game(config)
  assert_bitwise_equal(final_state(tmp_path / 'halves', game),
                       final_state(tmp_path / 'whole', game))
  records = [json.loads(line) for line in (tmp_path / 'whole' / 'metrics.jsonl').open()]
  assert [record['step'] for record in records] == [1, 2, 3, 4]
  assert np.isfinite([record['d/loss'] for record in records]).all()
  grid = np.asarray(Image.open(tmp_path / 'whole' / 'samples' / 'final.png'))
  assert grid.ndim == 2 and grid.shape[0] == grid.shape[1]  # a square grid of grey images
  images = sample.generate(tmp_path / 'whole', 5, seed=1)
  assert images.shape == (5, 8, 8, 1) and 0 <= images.min() <= images.max() <= 1  # its range


def _command(*args, families_variable=FAMILY_FILE):
  env = {**os.environ, 'JAXGAN_FAMILIES': families_variable}
  return subprocess.run([sys.executable, *args], capture_output=True, text=True, cwd=ROOT,
                        env=env, timeout=600)


@pytest.mark.slow
def test_the_commands_run_a_family_named_in_jaxgan_families(tmp_path):
  trained = _command('train.py', '--config', 'tinyconv', '--steps', '2', '--batch-size', '8',
                     '--set', 'width=8', '--workdir', str(tmp_path / 'run'), *QUIET_FLAGS)
  assert trained.returncode == 0, trained.stderr
  assert json.loads((tmp_path / 'run' / 'config.json').read_text())['width'] == 8
  sampled = _command('-m', 'jaxgan.sample', '--workdir', str(tmp_path / 'run'), '--num', '4',
                     '--out', str(tmp_path / 'four.npy'))
  assert sampled.returncode == 0, sampled.stderr
  assert np.load(tmp_path / 'four.npy').shape == (4, 8, 8, 1)
  # Without the family, the workdir is one line naming the way to it.
  unknown = _command('-m', 'jaxgan.sample', '--workdir', str(tmp_path / 'run'), '--num', '4',
                     '--out', str(tmp_path / 'more.npy'), families_variable='')
  assert unknown.returncode == 2 and 'JAXGAN_FAMILIES' in unknown.stderr
  assert len(unknown.stderr.strip().splitlines()) == 1, unknown.stderr


def test_a_family_module_that_fails_to_load_is_one_line(tmp_path):
  broken = tmp_path / 'broken_family.py'
  broken.write_text('raise RuntimeError("half written")\n')
  for variable in (str(broken), 'no_such_family_module', str(tmp_path / 'missing.py')):
    result = _command('train.py', '--help', families_variable=variable)
    assert result.returncode == 2, result.stderr
    assert result.stderr.count('\n') == 1 and 'cannot load the family module' in result.stderr
