"""What a run writes about itself as it goes (process 0; an edge module: files only).

  metrics.jsonl   one JSON record per logged step, the record of the run that resumes rely on
  tensorboard/    TensorBoard event files (tensorboardX, no TensorFlow): every logged number as
                  a scalar, every sample grid as an image; `tensorboard --logdir WORKDIR`
  curves.png      the logged numbers against steps (matplotlib), redrawn at a sample grid at
                  most every REDRAW_SECONDS, and at the end; not with `curves=False`

A resumed run first drops the records past its checkpoint's step from metrics.jsonl, and opens
its event file with TensorBoard's `purge_step`, so that both show what the uninterrupted run
would have logged.
"""

import concurrent.futures
import json
import math
import os
import time
from pathlib import Path

import numpy as np

from jaxgan import files

# curves.png's panels: (title, the metrics it draws, logarithmic y). A metric goes into the first
# panel that names it (by its full name, its prefix up to '/', or its last part after '/').
PANELS = (
    ('losses', ('d/loss', 'g/loss', 'd_a/loss', 'd_b/loss'), False),
    ('loss terms and penalties', ('penalty', 'adversarial', 'l1', 'cycle', 'identity'), False),
    ('discriminator output, mean', ('real_logit', 'fake_logit'), False),
    ('discriminator accuracy', ('real_accuracy', 'fake_accuracy'), False),
    ('gradient norm', ('grad_norm',), True),
    ('learning rate', ('lr',), False),
    ('schedule', ('augment', 'progress'), False),
    ('evaluation: distance', ('eval/fd_digits', 'eval/fid', 'eval/kid'), False),
    ('evaluation: precision and recall', ('eval/precision', 'eval/recall'), False),
    ('images per second', ('img_per_s',), False),
    ('peak memory, MB', ('memory',), False),
)
NOT_PLOTTED = ('step',)
# A drawing costs about a second of CPU (matplotlib; the default run's curves on a 2-core AMD
# EPYC), time the training's own threads share: a run that shows samples every few seconds
# would spend a third of a core on curves no one looks at that often.
REDRAW_SECONDS = 30.0


def _summary_writer():
  """tensorboardX's `SummaryWriter`, imported without PyTorch. Where torch is installed,
  tensorboardX imports it only to name a type in its signatures (`numpy_compatible` in
  tensorboardX/writer.py), and that import cost 3.2 s of every run's start (1.1 s for jax and
  numpy; a 2-core AMD EPYC). While tensorboardX is first imported, `import torch` raises
  ImportError, the case tensorboardX handles for machines without torch; where torch is already
  imported, nothing is hidden."""
  import sys
  if 'torch' in sys.modules or 'tensorboardX' in sys.modules:
    from tensorboardX import SummaryWriter
    return SummaryWriter
  sys.modules['torch'] = None  # what `import torch` finds here: an ImportError
  try:
    from tensorboardX import SummaryWriter
  finally:
    del sys.modules['torch']
  return SummaryWriter


class Logbook:
  """The files above for a run that starts (or resumes) after step `first_step`. Not `writer`
  (processes other than 0): nothing is written. Not `curves`: no curves.png (each drawing costs
  about a second of CPU, which runs that are many and short, such as a sweep's or the tests',
  feel most; TensorBoard's files hold the same numbers)."""

  def __init__(self, workdir: Path, first_step: int, writer: bool = True, curves: bool = True):
    self.writer, self.curves = writer, curves
    self.records = []
    if not writer:
      return
    self._metrics_path = workdir / 'metrics.jsonl'
    self.records = _kept_records(self._metrics_path, first_step)
    files.write_text(self._metrics_path, ''.join(json.dumps(r) + '\n' for r in self.records))
    self._metrics = self._metrics_path.open('a')
    summary_writer = _summary_writer()
    self._events = summary_writer(str(workdir / 'tensorboard'),
                                  purge_step=first_step + 1 if first_step else None,
                                  filename_suffix=f'.{os.getpid()}.{first_step}')
    self._curves_path = workdir / 'curves.png'
    self._painter = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix='jaxgan-curves')
    self._painting = None
    self._drawn = 0  # how many records the latest drawing drew
    self._asked = time.monotonic()  # when the latest drawing was asked for (or the run started)

  def __enter__(self):
    return self

  def __exit__(self, exc_type, exc_value, traceback):
    if exc_type is None:
      self.close()
      return
    try:  # the run already failed (a full disk, say): that error is the one to report
      self.close()
    except OSError:
      pass

  def record(self, step: int, metrics: dict[str, float]) -> None:
    """One logged step: a line of metrics.jsonl (flushed) and a scalar per number."""
    if not self.writer:
      return
    record = {'step': step, **metrics}
    self._metrics.write(json.dumps(record) + '\n')
    self._metrics.flush()
    self.records.append(record)
    for name, value in metrics.items():
      self._events.add_scalar(name, value, step)

  def image(self, tag: str, step: int, path: Path) -> None:
    """The image saved at `path` (a sample grid) as TensorBoard image `tag` at `step`."""
    if not self.writer:
      return
    from PIL import Image
    with Image.open(path) as picture:
      pixels = np.asarray(picture.convert('RGB'))
    self._events.add_image(tag, pixels, step, dataformats='HWC')

  def draw_curves(self, wait: bool = False) -> None:
    """Redraws curves.png from the records so far, in a thread of its own (a drawing of the
    default run's curves takes about a second on a 2-core CPU, which the loop does not wait
    for); a request less than REDRAW_SECONDS after the latest drawing (or the run's start),
    or while that drawing is still in progress, is dropped. `wait`: draw now and return
    when it is written. Records drawn already are not drawn again (a run's last sample grid and
    its close ask for the same drawing)."""
    if not (self.writer and self.curves and self.records):
      return
    busy = self._painting is not None and not self._painting.done()
    if not wait and (busy or time.monotonic() - self._asked < REDRAW_SECONDS):
      return
    if self._painting is None or self._drawn != len(self.records):
      if busy:
        self._painting.result()
      self._painting = self._painter.submit(plot_curves, list(self.records), self._curves_path)
      self._drawn, self._asked = len(self.records), time.monotonic()
    if wait:
      self._painting.result()

  def close(self) -> None:
    """Draws curves.png a last time from every record, and closes the files."""
    if not self.writer:
      return
    self.draw_curves(wait=True)
    self._painter.shutdown(wait=True)
    self._metrics.close()
    self._events.close()


def _kept_records(path: Path, first_step: int) -> list[dict]:
  """The records of metrics.jsonl up to `first_step` (a resumed run logs the later steps
  again), without a last line cut short by a kill and without lines that are not records."""
  if not path.exists():
    return []
  kept = []
  for line in path.read_text(errors='replace').splitlines(keepends=True):
    record = _record(line) if line.endswith('\n') else None
    if record is not None and record['step'] <= first_step:
      kept.append(record)
  return kept


def _record(line: str) -> dict | None:
  """The record a metrics.jsonl line holds, or None for garbage (left by a crash or a full
  disk: dropped when a run resumes, instead of stopping it)."""
  try:
    record = json.loads(line)
    record['step'] = int(record['step'])
    return record
  except (ValueError, KeyError, TypeError):
    return None


def panel_of(name: str) -> str | None:
  """The title of the curves.png panel that draws metric `name` (None: not plotted)."""
  if name in NOT_PLOTTED:
    return None
  for title, names, _ in PANELS:
    if name in names or name.split('/')[0] in names or name.split('/')[-1] in names:
      return title
  return 'other'


def plot_curves(records: list[dict], path: Path) -> None:
  """curves.png: each plotted metric of `records` against the step, in `PANELS`' panels (those
  with data). Written to a temporary file and renamed, so a reader never sees half a PNG."""
  from matplotlib.figure import Figure
  series = {}
  for record in records:
    for name, value in record.items():
      if panel_of(name) is not None and isinstance(value, (int, float)) and math.isfinite(value):
        series.setdefault(name, ([], []))
        series[name][0].append(record['step'])
        series[name][1].append(value)
  titles = [title for title, _, _ in PANELS] + ['other']
  drawn = [title for title in titles if any(panel_of(name) == title for name in series)]
  if not drawn:
    return
  columns = min(3, len(drawn))
  rows = math.ceil(len(drawn) / columns)
  width, height = 5 * columns, 3.2 * rows
  figure = Figure(figsize=(width, height))
  # Margins fixed in inches, not a layout engine: matplotlib's constrained layout measured every
  # tick label once more and took half of each drawing (the default run's curves: 2.1 s with
  # it, 1.1 s without, on a 2-core AMD EPYC), time the training's own thread shares.
  figure.subplots_adjust(left=0.9 / width, right=1 - 0.15 / width, bottom=0.75 / height,
                         top=1 - 0.4 / height, wspace=0.22, hspace=0.45)
  axes = np.atleast_1d(figure.subplots(rows, columns, squeeze=False)).ravel()
  logarithmic = {title: log for title, _, log in PANELS}
  for ax, title in zip(axes, drawn):
    for name in sorted(name for name in series if panel_of(name) == title):
      steps, values = series[name]
      ax.plot(steps, values, label=name, linewidth=1.2, marker='.' if len(steps) < 30 else None)
    if title == 'discriminator accuracy':
      ax.axhline(0.5, color='grey', linewidth=0.8, linestyle='--')
      ax.set_ylim(-0.02, 1.02)
    if logarithmic.get(title) and all(v > 0 for name in series if panel_of(name) == title
                                      for v in series[name][1]):
      ax.set_yscale('log')
    ax.set_title(title, fontsize=10)
    ax.set_xlabel('step', fontsize=8)
    ax.tick_params(labelsize=8)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
  for ax in axes[len(drawn):]:
    ax.set_visible(False)
  with files.written(path) as temporary:
    figure.savefig(temporary, dpi=90)
