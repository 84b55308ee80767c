"""Helpers for tests that run train.py in subprocesses and read back what they saved."""

import subprocess
import sys
from pathlib import Path

import jax

from jaxgan import nets
from jaxgan.checkpoint import Checkpoints
from jaxgan.config import Config
from jaxgan.train import init_state

ROOT = Path(__file__).resolve().parents[1]
TINY = ['--set', 'g_widths=32,16', '--set', 'd_widths=16,32', '--set', 'g_dense_features=32',
        '--batch-size', '16', '--no-progress']


def train_command(workdir, *args):
  """train.py on a tiny digits model, batch 16; later flags override these."""
  return [sys.executable, str(ROOT / 'train.py'), '--workdir', str(workdir), *TINY, *args]


def train(workdir, *args, **kwargs):
  return subprocess.run(train_command(workdir, *args), capture_output=True, text=True,
                        timeout=300, **kwargs)


def final_state(workdir):
  """The latest checkpoint's GANState, restored on this process's default device."""
  with Checkpoints(Path(workdir) / 'checkpoints', create=False) as checkpoints:
    step = checkpoints.latest_step()
    config = Config.from_dict(checkpoints.config(step))
    generator, discriminator = nets.build(config)
    abstract = jax.eval_shape(lambda: init_state(config, generator, discriminator))
    return checkpoints.restore_state(step, abstract)
