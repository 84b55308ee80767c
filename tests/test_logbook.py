"""The run's own record besides checkpoints: metrics.jsonl, TensorBoard events, curves.png."""

import errno
import importlib.util
import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from jaxgan import families, logbook
from jaxgan.logbook import Logbook


def _scalars(directory, tag):
  """[(step, value)] of TensorBoard scalar `tag`, as TensorBoard itself reads the events."""
  from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
  events = EventAccumulator(str(directory), size_guidance={'scalars': 0, 'images': 0})
  events.Reload()
  return [(event.step, event.value) for event in events.Scalars(tag)], events


@pytest.mark.slow
def test_a_resumed_logbook_shows_what_the_uninterrupted_one_would(tmp_path):
  """A run that logged steps 1-5 and resumes from its checkpoint at step 3 logs 4 and 5 again:
  metrics.jsonl keeps 1-3 and TensorBoard (purge_step) hides the first run's 4 and 5."""
  with Logbook(tmp_path, first_step=0) as book:
    for step in range(1, 6):
      book.record(step, {'d/loss': float(step), 'g/loss': 1.0})
  with (tmp_path / 'metrics.jsonl').open('a') as log:
    log.write('garbage, as a full disk leaves\n{"step": 6, "d/lo')
  with Logbook(tmp_path, first_step=3) as book:
    assert [record['step'] for record in book.records] == [1, 2, 3]
    for step in range(4, 7):
      book.record(step, {'d/loss': 10.0 * step, 'g/loss': 1.0})
  scalars, events = _scalars(tmp_path / 'tensorboard', 'd/loss')
  assert scalars == [(1, 1.0), (2, 2.0), (3, 3.0), (4, 40.0), (5, 50.0), (6, 60.0)]
  records = [json.loads(line) for line in (tmp_path / 'metrics.jsonl').read_text().splitlines()]
  assert [(r['step'], r['d/loss']) for r in records] == scalars
  assert set(events.Tags()['scalars']) == {'d/loss', 'g/loss'}
  with Image.open(tmp_path / 'curves.png') as curves:
    assert curves.size[0] > 400 and curves.size[1] > 200


def test_a_failing_run_reports_its_own_error_not_the_logbook_s(tmp_path):
  """When the disk is full, closing the event file fails too (its flush). A run that is already
  failing reports its own error (`DiskFull`, naming the intact checkpoint), not that one; a
  run that succeeded reports the close's."""
  def full_disk():
    raise OSError(errno.ENOSPC, 'No space left on device')

  with pytest.raises(RuntimeError, match='the run'):
    with Logbook(tmp_path, first_step=0) as book:
      book.record(1, {'d/loss': 1.0})
      book._events.close = full_disk
      raise RuntimeError('the run')
  with pytest.raises(OSError, match='No space left'):
    with Logbook(tmp_path, first_step=1) as book:
      book._events.close = full_disk


def test_every_logged_metric_has_its_panel(tmp_path):
  names = ['d/loss', 'g/loss', 'd/real_logit', 'd/fake_logit', 'd/real_accuracy',
           'd/fake_accuracy', 'd/penalty', 'g/penalty', 'grad_norm/G', 'grad_norm/D_a',
           'lr/G', 'augment/p', 'progress/alpha', 'eval/fd_digits', 'eval/fid', 'eval/precision',
           'eval/recall', 'img_per_s', 'g/l1', 'g/adversarial', 'g/cycle', 'g/identity',
           'd_a/loss', 'd_b/real_accuracy', 'memory/peak_mb']
  panels = {name: logbook.panel_of(name) for name in names}
  assert 'other' not in panels.values(), panels
  assert panels['d/loss'] == panels['d_a/loss'] == 'losses'
  assert panels['d/real_accuracy'] == panels['d_b/real_accuracy'] == 'discriminator accuracy'
  assert logbook.panel_of('step') is None and logbook.panel_of('something/new') == 'other'
  # and drawn, every panel at once (the tests' runs draw no curves: `--no-curves` in tests/runs.py)
  records = [{'step': step, **{name: 1.0 + step for name in names}} for step in (1, 2)]
  logbook.plot_curves(records, tmp_path / 'curves.png')
  with Image.open(tmp_path / 'curves.png') as curves:
    assert curves.size[0] > 1000 and curves.size[1] > 800  # 3 columns, 4 rows of panels


def test_a_logbook_of_another_process_writes_nothing(tmp_path):
  with Logbook(tmp_path, first_step=0, writer=False) as book:
    book.record(1, {'d/loss': 1.0})
    book.draw_curves(wait=True)
  assert not list(tmp_path.iterdir())


def test_curves_skip_what_is_not_finite(tmp_path):
  records = [{'step': 1, 'd/loss': 1.0, 'grad_norm/D': float('nan')},
             {'step': 2, 'd/loss': float('inf'), 'grad_norm/D': 2.0}]
  logbook.plot_curves(records, tmp_path / 'curves.png')
  assert np.asarray(Image.open(tmp_path / 'curves.png')).ndim == 3


def test_the_logged_learning_rate_is_the_schedule_at_the_update_count():
  """lr/NAME is each network's rate at its latest update: its schedule at the count of updates
  before it (the critic updates n_critic times a step)."""
  import jax.numpy as jnp

  from jaxgan import configs, games
  config = configs.get('digits').replace(lr_decay='cosine', steps=10, n_critic=2)
  game = families.game(config)
  params = {'w': jnp.zeros(3)}
  opt_state = {name: game.optimizers[name].init(params) for name in ('G', 'D')}
  for name, updates in (('G', 3), ('D', 6)):  # three steps
    for _ in range(updates):
      _, opt_state[name] = game.optimizers[name].update({'w': jnp.ones(3)}, opt_state[name],
                                                        params)
  cosine = lambda rate, t, total: rate * 0.5 * (1 + np.cos(np.pi * t / total))
  np.testing.assert_allclose(games.learning_rates(game, opt_state)['lr/G'],
                             cosine(config.g_lr, 2, 10), rtol=1e-6)
  np.testing.assert_allclose(games.learning_rates(game, opt_state)['lr/D'],
                             cosine(config.d_lr, 5, 20), rtol=1e-6)
  constant = families.game(configs.get('digits'))
  assert games.learning_rates(constant, opt_state) == {'lr/G': 2e-4, 'lr/D': 2e-4}


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec('torch') is None, reason='torch is not installed')
def test_the_event_writer_does_not_import_torch(tmp_path):
  """Where torch is installed, a logbook (tensorboardX) leaves it unimported, which saves seconds
  of every run's start, and `import torch` works afterwards."""
  script = ('import sys; from pathlib import Path; from jaxgan.logbook import Logbook; '
            f'Logbook(Path({str(tmp_path)!r}), 0).close(); print("torch" in sys.modules); '
            'import torch; print(torch.ones(2).sum().item())')
  result = subprocess.run([sys.executable, '-c', script], capture_output=True, text=True)
  assert result.returncode == 0, result.stderr
  assert result.stdout.split() == ['False', '2.0']
  assert list((tmp_path / 'tensorboard').iterdir())  # the event file was written


def test_curves_are_drawn_again_only_for_new_records(tmp_path, monkeypatch):
  """A run's last sample grid asks for a drawing and its close asks again: drawn once; a record
  logged in between is drawn."""
  drawn = []
  monkeypatch.setattr(logbook, 'plot_curves', lambda records, path: drawn.append(len(records)))
  (tmp_path / 'a').mkdir()
  (tmp_path / 'b').mkdir()
  with Logbook(tmp_path / 'a', first_step=0) as book:
    book.record(1, {'d/loss': 1.0})
    book.draw_curves()
  assert drawn == [1]
  with Logbook(tmp_path / 'b', first_step=0) as book:
    book.record(1, {'d/loss': 1.0})
    book.draw_curves(wait=True)
    book.record(2, {'d/loss': 0.5})
  assert drawn == [1, 1, 2]


def test_without_curves_a_logbook_writes_the_rest(tmp_path, monkeypatch):
  drawn = []
  monkeypatch.setattr(logbook, 'plot_curves', lambda records, path: drawn.append(len(records)))
  with Logbook(tmp_path, first_step=0, curves=False) as book:
    book.record(1, {'d/loss': 1.0})
    book.draw_curves(wait=True)
  assert drawn == [] and not (tmp_path / 'curves.png').exists()
  assert (tmp_path / 'metrics.jsonl').read_text().count('\n') == 1
  assert list((tmp_path / 'tensorboard').iterdir())


def test_curves_are_redrawn_mid_run_at_most_every_so_many_seconds(tmp_path, monkeypatch):
  """Sample grids ask for a drawing: one that comes sooner than REDRAW_SECONDS after the run's
  start or the previous drawing is dropped; the close draws what is new either way."""
  import types
  drawn, now = [], [100.0]
  monkeypatch.setattr(logbook, 'plot_curves', lambda records, path: drawn.append(len(records)))
  monkeypatch.setattr(logbook, 'time', types.SimpleNamespace(monotonic=lambda: now[0]))
  with Logbook(tmp_path, first_step=0) as book:
    for step, seconds in enumerate((logbook.REDRAW_SECONDS - 1, 1, logbook.REDRAW_SECONDS - 1)):
      book.record(step + 1, {'d/loss': 1.0})
      now[0] += seconds
      book.draw_curves()  # 29 s after the start: dropped; 30 s: drawn; 29 s later: dropped
    book.record(4, {'d/loss': 1.0})
  assert drawn == [2, 4]
