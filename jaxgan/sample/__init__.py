"""Samples from a run's checkpoint, which loads only the generator (the EMA when the run kept one).

  Generator           a workdir's generator, restored once; `draw` samples from it
  generate            `num` samples of a workdir, seeded (of a class, from given latents)
  style_mixing_grid   StyleGAN2's style-mixing figure, as the reference's style_mixing.py
  interpolation       a latent walk (spherical in Z; linear in W for StyleGAN2)
  write_frames, write_dataset   a walk as .gif/.mp4/.png/.npy; samples as a folder of PNGs

Samples are drawn a batch of the run's size at a time (`jaxgan.generation`). The command is
`python -m jaxgan.sample` (`jaxgan.commands.sample`).
"""

import sys
import warnings
from collections.abc import Callable
from pathlib import Path

import jax
import numpy as np

from jaxgan import families, games
from jaxgan.checkpoint import Checkpoints, Unreadable
from jaxgan.config import Config, UnknownFields
from jaxgan.files import written
from jaxgan.generation import in_batches
from jaxgan.images import save_grid, save_image, to_uint8


STYLE_OPTIONS = ('truncation_psi', 'noise_mode')


class SampleError(ValueError):
  """A request the run cannot serve (a class it does not have); one line for the user."""


class Generator:
  """The generator saved in `workdir` (latest checkpoint unless `step`), restored once to draw
  from as often as asked: its run's `config`, `game`, sampling `variables` and `step`."""

  def __init__(self, workdir: str | Path, step: int | None = None,
               report: Callable[[str], None] = lambda line: print(line, file=sys.stderr)):
    """Without `step`, a latest checkpoint that cannot be read (damaged files) is passed over
    for the newest readable one, with one line `report`ed; nothing is moved (a run does that)."""
    directory = Path(workdir) / 'checkpoints'
    if not directory.is_dir():
      raise FileNotFoundError(f'no checkpoints in {str(workdir)!r}')

    def read(step):
      try:
        config = Config.from_dict(checkpoints.config(step))
      except UnknownFields as error:
        raise SampleError(f'the checkpoint at step {step} holds {error}') from None
      game = families.game(config)
      abstract = games.abstract_state(game, jax.random.key(config.seed), step)
      return config, game, checkpoints.restore_generator(step, jax.eval_shape(
          lambda state: state.variables(game.sampler, ema=True), abstract))
    with Checkpoints(directory, create=False) as checkpoints:
      if step is not None:
        if step not in (steps := checkpoints.steps()):
          raise SampleError(f'no checkpoint at step {step} in {str(directory)!r}; its steps: '
                            f'{", ".join(map(str, steps)) or "none"}')
        self.step, (self.config, self.game, self.variables) = step, read(step)
      else:
        try:
          self.step, (self.config, self.game, self.variables), damaged = \
              checkpoints.newest_readable(read, (SampleError,))
        except FileNotFoundError:
          raise FileNotFoundError(f'no complete checkpoint in {str(directory)!r}') from None
        except Unreadable as error:
          raise SampleError(f'no checkpoint in {str(directory)!r} can be read ({error})') \
              from None
        for bad_step, reason in damaged:
          report(f'jaxgan: the checkpoint at step {bad_step} cannot be read ({reason}); '
                 f'using step {self.step}')
    self._generate = jax.jit(self.game.generate, static_argnames=('stage', *STYLE_OPTIONS))

  def check_draws_from_latents(self):
    """`SampleError` for a run that translates images instead (its game has no inputs)."""
    if self.game.inputs is None:
      raise SampleError(f'this run translates images ({self.config.arch}): use python -m '
                        f'jaxgan.translate')

  def draw(self, key: jax.Array, num: int, labels: np.ndarray | None = None,
           latents: np.ndarray | None = None, **options) -> np.ndarray:
    """`num` samples from latents drawn from `key` (or `latents`), of the classes `labels`,
    else of every class in turn. Images come mapped linearly from the generator's range to
    [0, 1] (not clipped); 2-D points as they are. `options`: StyleGAN2's `truncation_psi` and
    `noise_mode`."""
    self.check_draws_from_latents()
    if unknown := set(options) - set(families.of(self.config).sampling_options):
      raise SampleError(f'{", ".join(sorted(unknown))}: this run ({self.config.arch}) samples '
                        f'without {"it" if len(unknown) == 1 else "them"} (--truncation and '
                        f'--noise are StyleGAN2\'s)')
    inputs = self.game.inputs(key, num, labels)
    if latents is not None:
      if latents.shape != inputs['z'].shape:
        raise SampleError(f'--latents holds an array of shape {latents.shape}; this generator '
                          f'takes (n, {inputs["z"].shape[1]})')
      inputs['z'] = latents.astype(np.float32)
    stage = games.stage_after(self.game, self.step)
    samples = in_batches(lambda batch: self._generate(self.variables, batch, stage=stage,
                                                      **options),
                         inputs, self.config.batch_size)
    if samples.ndim == 2:
      return samples
    lo, hi = self.game.value_range
    return (samples - lo) / (hi - lo)


def generate(workdir: str | Path, num: int, seed: int = 0, step: int | None = None,
             class_: str | None = None, key: jax.Array | None = None,
             latents: np.ndarray | None = None, **options) -> np.ndarray:
  """`num` samples from the generator saved in `workdir` (`Generator.draw`); of class `class_`
  (an index or a name) on a conditional run, else of every class in turn. The latents come from
  `seed` (or `key`), or are `latents`."""
  generator = Generator(workdir, step)
  return generator.draw(jax.random.key(seed) if key is None else key, num,
                        _labels(generator.config, num, class_), latents, **options)


def style_mixing_grid(workdir: str | Path, rows: list[int], columns: list[int],
                      styles: list[int], truncation_psi: float = 1.0, noise_mode: str = 'const',
                      step: int | None = None) -> np.ndarray:
  """StyleGAN2's style-mixing figure, as the reference's style_mixing.py draws it: latents from
  numpy's RandomState(seed) per seed, ws truncated toward w_avg; the first row holds the column
  seeds' images, the first column the row seeds', and cell (r, c) the row seed's ws with the
  column seed's at `styles` (layer indices). Returns the uint8 mosaic."""
  generator = Generator(workdir, step)
  config = generator.config
  network, _ = families.networks(config)
  if not hasattr(network, 'synthesize') or getattr(config, 'conditional', False):
    raise SampleError('a style-mixing grid needs an unconditional StyleGAN2 run (a generator '
                      'of mapped styles)')
  seeds = list(dict.fromkeys(rows + columns))
  z = np.stack([np.random.RandomState(seed).randn(config.latent_dim) for seed in seeds])
  ws = np.asarray(network.apply(generator.variables, z.astype(np.float32),
                                truncation_psi=truncation_psi, method='map'))
  if max(styles) >= ws.shape[1]:
    raise SampleError(f'--styles: this generator has {ws.shape[1]} styles, 0..{ws.shape[1] - 1}')
  by_seed = dict(zip(seeds, ws))
  mixed = []
  for row in rows:
    for column in columns:
      w = by_seed[row].copy()
      w[styles] = by_seed[column][styles]
      mixed.append(w)
  synthesize = jax.jit(lambda ws: network.apply(generator.variables, ws, noise_mode=noise_mode,
                                                rngs={'noise': jax.random.key(0)},
                                                method='synthesize'))
  to_pixels = lambda images: to_uint8(np.asarray(images), generator.game.value_range)
  singles = dict(zip(seeds, to_pixels(synthesize(ws))))
  cells = to_pixels(synthesize(np.stack(mixed)))
  size, channels = config.image_size, config.channels
  canvas = np.zeros((size * (len(rows) + 1), size * (len(columns) + 1), channels), np.uint8)
  for c, column in enumerate(columns):
    canvas[:size, size * (c + 1):size * (c + 2)] = singles[column]
  for r, row in enumerate(rows):
    canvas[size * (r + 1):size * (r + 2), :size] = singles[row]
    for c in range(len(columns)):
      canvas[size * (r + 1):size * (r + 2), size * (c + 1):size * (c + 2)] = \
          cells[r * len(columns) + c]
  return canvas


def slerp(a: np.ndarray, b: np.ndarray, t: np.ndarray) -> np.ndarray:
  """Spherical interpolation from `a` to `b` (vectors) at fractions `t`: the path between two
  Gaussian latents that keeps their typical norm (White 2016), a straight line where they are
  parallel."""
  a64, b64 = np.asarray(a, np.float64), np.asarray(b, np.float64)
  cosine = np.dot(a64, b64) / max(np.linalg.norm(a64) * np.linalg.norm(b64), 1e-12)
  omega = np.arccos(np.clip(cosine, -1.0, 1.0))
  t = np.asarray(t, np.float64)[:, None]
  if np.sin(omega) < 1e-6:
    return ((1 - t) * a64 + t * b64).astype(np.float32)
  return ((np.sin((1 - t) * omega) * a64 + np.sin(t * omega) * b64) / np.sin(omega)).astype(
      np.float32)


def interpolation(workdir: str | Path, keyframes: int, frames: int = 16, seed: int = 0,
                  step: int | None = None, class_: str | None = None,
                  latents: np.ndarray | None = None, truncation_psi: float | None = None,
                  noise_mode: str | None = None) -> np.ndarray:
  """A walk through `keyframes` latents (from `seed`, or `latents`) and back to the first,
  `frames` images from each to the next: `(keyframes * frames, h, w, c)` in [0, 1]. Gaussian
  latents are interpolated spherically; a generator with a mapping network (StyleGAN2) is walked
  linearly in its W space (its ws truncated by `truncation_psi`, the noise `noise_mode`:
  constant by default, so that the frames do not flicker), as the reference's videos and its
  perceptual path length walk it. A conditional run walks one class (`class_`, default the
  first)."""
  generator = Generator(workdir, step)
  generator.check_draws_from_latents()
  config = generator.config
  if len(families.of(config).sample_shape(config)) != 3:
    raise SampleError('an interpolation walks between images; this run makes 2-D points')
  inputs = generator.game.inputs(jax.random.key(seed), keyframes)
  z = np.asarray(inputs['z']) if latents is None else latents.astype(np.float32)
  if latents is not None and z.shape[1:] != inputs['z'].shape[1:]:
    raise SampleError(f'--latents holds an array of shape {z.shape}; this generator takes (n, '
                      f'{inputs["z"].shape[1]})')
  labels = _labels(config, len(z) * frames, class_)
  if labels is None and getattr(config, 'conditional', False):
    labels = np.zeros((len(z) * frames,), np.int32)
  t = np.arange(frames) / frames
  network, _ = families.networks(config)
  if not hasattr(network, 'synthesize'):
    if truncation_psi is not None or noise_mode is not None:
      raise SampleError(f"--truncation and --noise are StyleGAN2's; this run is {config.arch}")
    path = np.concatenate([slerp(z[i], z[(i + 1) % len(z)], t) for i in range(len(z))])
    return generator.draw(jax.random.key(seed), len(path), labels, path)
  label_args = () if labels is None else (labels[:len(z)],)
  ws = np.asarray(network.apply(generator.variables, z, *label_args,
                                truncation_psi=1.0 if truncation_psi is None else truncation_psi,
                                method='map'))
  path = np.concatenate([(1 - t)[:, None, None] * ws[i] + t[:, None, None] * ws[(i + 1) % len(z)]
                         for i in range(len(z))])
  images = np.asarray(jax.jit(lambda ws: network.apply(
      generator.variables, ws, noise_mode=noise_mode or 'const',
      rngs={'noise': jax.random.key(seed)}, method='synthesize'))(path))
  lo, hi = generator.game.value_range
  return (images - lo) / (hi - lo)


def write_frames(frames: np.ndarray, path: Path, columns: int, fps: float = 24.0,
                 min_side: int = 256) -> None:
  """Images `(n, h, w, c)` in [0, 1] as an animation (.gif, .mp4: imageio, each frame enlarged
  to at least `min_side` pixels), a .png grid of `columns`, or the float32 array (.npy)."""
  if path.suffix == '.npy':
    with written(path) as temporary:
      np.save(temporary, frames.astype(np.float32))
    return
  pixels = to_uint8(frames, (0.0, 1.0))
  if path.suffix == '.png':
    save_grid(pixels, path, columns=columns)
    return
  import imageio.v3 as iio
  scale = max(1, -(-min_side // pixels.shape[2]))
  pixels = np.repeat(np.repeat(pixels, scale, axis=1), scale, axis=2)
  if path.suffix == '.mp4':
    pixels = np.repeat(pixels, 3, axis=-1) if pixels.shape[-1] == 1 else pixels
    try:
      with warnings.catch_warnings():  # JAX warns of any fork; ffmpeg's is followed by an exec
        warnings.filterwarnings('ignore', 'os.fork', RuntimeWarning)
        with written(path) as temporary:
          iio.imwrite(temporary, pixels, fps=fps, codec='libx264', plugin='FFMPEG',
                      macro_block_size=1)  # any frame size, not only multiples of 16
    except ImportError:
      raise SampleError('writing .mp4 needs imageio-ffmpeg: pip install imageio-ffmpeg (or '
                        'write a .gif)') from None
    return
  with written(path) as temporary:
    iio.imwrite(temporary, pixels[..., 0] if pixels.shape[-1] == 1 else pixels,
                duration=1000 / fps, loop=0, plugin='pillow')


def write_dataset(workdir: str | Path, num: int, folder: str | Path, seed: int = 0,
                  step: int | None = None) -> int:
  """Writes `num` PNGs per class of a conditional run into `folder/CLASS/` (else `num` into
  `folder`), each class from latents of its own; returns how many images were written."""
  generator = Generator(workdir, step)
  config = generator.config
  classes = config.classes if getattr(config, 'conditional', False) else ()
  count = 0
  for index, name in enumerate(classes or [None]):
    key = jax.random.fold_in(jax.random.key(seed), index)
    images = generator.draw(key, num, None if name is None else np.full((num,), index, np.int32))
    if images.ndim == 2:
      raise SampleError('2-D samples are not images: use --out FILE.npy')
    target = Path(folder) / name if name is not None else Path(folder)
    target.mkdir(parents=True, exist_ok=True)
    for i, image in enumerate(to_uint8(images, (0.0, 1.0))):
      save_image(image, target / f'{i:05d}.png')
      count += 1
  return count


def _labels(config: Config, num: int, class_: str | None) -> np.ndarray | None:
  """The labels to draw: `num` of class `class_`, or None (every class in turn, or none)."""
  classes = config.classes if getattr(config, 'conditional', False) else ()
  if not classes:
    if class_ is not None:
      raise SampleError(f'--class {class_}: this run is not class-conditional')
    return None
  if class_ is None:
    return None
  index = classes.index(class_) if class_ in classes else (
      int(class_) if class_.isdigit() and int(class_) < len(classes) else None)
  if index is None:
    raise SampleError(f'--class {class_}: the run has {len(classes)} classes, '
                      f'0..{len(classes) - 1}: {", ".join(classes[:10])}'
                      f'{", ..." if len(classes) > 10 else ""}')
  return np.full((num,), index, np.int32)
