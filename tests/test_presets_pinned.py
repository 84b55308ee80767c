"""What today's presets compute, pinned: a refactor of the loop must reproduce it.

`fixtures/presets_pinned.npz` holds, for `digits`, `wgan_gp` and `mlp2d` trained a few steps by
the real loop (`jaxgan.train.run`, one device, the presets' own data, batch sizes and recipes),
every logged metric of every step and a fingerprint of every leaf of the final state: its size,
its largest magnitude, its sum and two fixed random projections. Any change of the computation
(a key drawn otherwise, a piece applied in another order, another initialisation) moves every
fingerprint far more than float rounding can. Recorded before the loop's refactor with

  python tests/test_presets_pinned.py --record

Never re-record to make this test pass: a difference means the refactor changed a number.
The state's layout has changed since (named networks, non-trained collections apart from the
optimizer): `_pinned_name` maps today's leaf names to the recorded ones. Metrics logged since
then only to diagnose a run (the discriminator's accuracies, the gradient norms and the
learning rates, which `tests/test_game.py` and `tests/test_resume.py` check against their
definitions) are not in the recording.
"""

import json
import sys
import tempfile
import zlib
from pathlib import Path

import jax
import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from jaxgan import configs  # noqa: E402
from jaxgan.train import run  # noqa: E402
from runs import QUIET, dynamic_fields, final_state, one_device  # noqa: E402

FIXTURE = Path(__file__).parent / 'fixtures' / 'presets_pinned.npz'
STEPS = {'digits': 3, 'wgan_gp': 2, 'mlp2d': 5}
# The metrics within this fraction of their values, and each state leaf within STATE_RTOL of its
# largest magnitude, element by element (which bounds what its fingerprint may move). Float
# rounding differs between CPUs and XLA versions: on the machine that recorded the fixture it
# was about 1e-6; on an AVX2-only AMD EPYC the metrics moved by less than 1e-4 and the state by
# up to 3.5e-4 (the generator's Adam moments of `digits`, whose gradients flow through the
# discriminator's two earlier steps). A change of the computation moves them by far more.
RTOL = 1e-4
STATE_RTOL = 1e-3
DIAGNOSTICS = ('grad_norm/', 'd/real_accuracy', 'd/fake_accuracy', 'lr/')  # logged since then


def _train(preset: str, workdir: Path) -> dict:
  """{name: array}: the metrics of every step and the fingerprint of every state leaf."""
  config = configs.get(preset).replace(steps=STEPS[preset], log_every=1,
                                       checkpoint_every=STEPS[preset])
  run(config, workdir, **QUIET, parallel=one_device())
  records = [json.loads(line) for line in (workdir / 'metrics.jsonl').read_text().splitlines()]
  pinned = {f'{preset}/metrics/{name}': np.array([r[name] for r in records], np.float64)
            for name in records[0] if name not in ('step', 'img_per_s', 'memory/peak_mb') and not
            name.startswith(DIAGNOSTICS)}
  leaves = jax.tree.flatten_with_path(dynamic_fields(final_state(workdir)))[0]
  for path, leaf in leaves:
    name = _pinned_name(jax.tree_util.keystr(path))
    if jax.dtypes.issubdtype(leaf.dtype, jax.dtypes.prng_key):
      leaf = jax.random.key_data(leaf)
    pinned[f'{preset}/state/{name}'] = _fingerprint(name, np.asarray(leaf, np.float64))
  return pinned


# Today's state layout -> the layout the fixture was recorded from (`GANState` before games/).
RENAMED = (("['params']['G']", "['g_params']['params']"), ("['params']['D']", "['d_params']['params']"),
           ("['ema']['G']", "['g_ema_params']['params']"), ("['opt_state']['G']", "['g_opt_state']"),
           ("['opt_state']['D']", "['d_opt_state']"))


def _pinned_name(name: str) -> str:
  """The recorded name of a state leaf: the optimizer moments were then kept for the whole
  variable dict (`mu['params'][...]`), now for the parameters alone."""
  for new, old in RENAMED:
    if name.startswith(new):
      name = old + name[len(new):]
  return name.replace('.mu[', ".mu['params'][").replace('.nu[', ".nu['params'][")


def _projections(name: str, size: int) -> np.ndarray:
  return np.random.default_rng(zlib.crc32(name.encode())).standard_normal((2, size))


def _fingerprint(name: str, leaf: np.ndarray) -> np.ndarray:
  flat = leaf.ravel()
  return np.array([flat.size, np.abs(flat).max(initial=0.0), flat.sum(),
                   *(_projections(name, flat.size) @ flat)])


def _bounds(name: str, pinned: np.ndarray, learning_rate: float) -> np.ndarray:
  """How far each fingerprint entry may move when every element moves by STATE_RTOL of the scale.

  A parameter's scale is at least the learning rate: the parameter is its initial value plus
  Adam steps of about that size, and its rounding is theirs, even where the steps cancel to far
  less (`digits`' discriminator output bias, zero at the start, is -3.2e-6 after three steps of
  2e-4: on an AVX2-only AMD EPYC it came out 1.2e-4 of that value away from the recording, 2e-6
  of one step). A change of the computation moves it by a step or more."""
  size, scale = int(pinned[0]), pinned[1]
  if name.startswith(("['g_params']", "['d_params']", "['g_ema_params']")):
    scale = max(scale, learning_rate)
  weights = np.array([0.0, 1.0, size, *np.abs(_projections(name, size)).sum(1)])
  return STATE_RTOL * scale * weights


@pytest.mark.slow
@pytest.mark.parametrize('preset', list(STEPS))
def test_presets_compute_what_they_computed_before_the_refactor(preset, tmp_path):
  pinned = np.load(FIXTURE)
  now = _train(preset, tmp_path)
  config = configs.get(preset)
  learning_rate = min(config.g_lr, config.d_lr)
  names = sorted(name for name in pinned.files if name.startswith(f'{preset}/'))
  assert sorted(now) == names, 'the state or the metrics have other leaves than pinned'
  for name in names:
    if '/metrics/' in name:
      np.testing.assert_allclose(now[name], pinned[name], rtol=RTOL, err_msg=name)
    else:
      bounds = _bounds(name.split('/state/')[1], pinned[name], learning_rate)
      assert np.all(np.abs(now[name] - pinned[name]) <= bounds), (name, now[name], pinned[name])


if __name__ == '__main__' and sys.argv[1:] == ['--record']:
  jax.config.update('jax_num_cpu_devices', 8)  # as the tests' process (conftest.py)
  record = {}
  for preset in STEPS:
    with tempfile.TemporaryDirectory() as workdir:
      record.update(_train(preset, Path(workdir)))
  FIXTURE.parent.mkdir(exist_ok=True)
  np.savez_compressed(FIXTURE, **record)
  print(f'wrote {FIXTURE} ({FIXTURE.stat().st_size} bytes, {len(record)} arrays)')
