"""The registry of families: a `Family` is what the library needs of a kind of GAN, and
`register` makes one known by its name. The loop, the tools and the commands reach a family
only through `of(config)`; nothing else compares family names."""

from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import jax.numpy as jnp
import numpy as np

from jaxgan import config as config_module
from jaxgan.config import Config, Section
from jaxgan.images import save_grid, to_uint8


def image_shape(config: Config) -> tuple[int, ...]:
  """One image of the run: (size, size, channels)."""
  return (config.image_size, config.image_size, config.channels)


def latent_inputs(config: Config) -> tuple[tuple, tuple]:
  """A generator of latents (and labels when conditional) and a discriminator of images (and
  labels): their inputs for one sample, zeros."""
  labels = (jnp.zeros((1,), jnp.int32),) if getattr(config, 'conditional', False) else ()
  return (jnp.zeros((1, config.latent_dim)), *labels), (jnp.zeros((1, *image_shape(config))),
                                                        *labels)


def image_batch(config: Config, samples: np.ndarray) -> dict:
  """A training batch of `samples` as a family of images reads it: the images, and for a
  conditional config labels drawn from its classes."""
  batch = {'image': samples}
  if getattr(config, 'conditional', False):
    batch['label'] = np.random.default_rng(0).integers(0, len(config.classes), len(samples),
                                                       dtype=np.int32)
  return batch


def draw_grid(config: Config, game, shown, path: Path) -> None:
  """The sample grid: what the game shows of its samples (`Game.show`), images in its value
  range, as a mosaic of `config.sample_grid` columns."""
  save_grid(to_uint8(np.asarray(shown), game.value_range), path, columns=config.sample_grid)


class Family(NamedTuple):
  """A family of GANs: every function takes the run's `Config`.

  name             its name (`Config.arch`) and the key of the registry
  section          its config section: a `jaxgan.config.Section` dataclass of its own fields
  networks         config -> (generator, discriminator), Flax modules
  game             config -> its `jaxgan.games.Game`, networks and recipe built
  presets          {name: () -> Config}, each with its command and measured result documented
  dataset          (config, data_dir, report) -> the `jaxgan.data.Dataset` it trains on
  check            (config, game) -> (name, measure(state, samples_of, in_unit_range) ->
                   report) or None: the check a run ends with (WORKDIR/NAME.json)
  draw             (config, game, shown, path): the sample grid a run saves, of what the
                   game shows of its samples (`Game.show`)
  example_inputs   config -> (generator's inputs, discriminator's inputs) for one sample, as
                   `--summary` traces the networks
  sample_shape     config -> one training sample's shape
  example_batch    (config, samples) -> a training batch of those samples, keyed as its
                   dataset's batches are (the benchmarks' synthetic batches)
  sampling_options the generator's own sampling keywords (StyleGAN2's truncation_psi,
                   noise_mode) that `jaxgan.sample` may pass
  """
  name: str
  section: type[Section]
  networks: Callable[[Config], tuple[Any, Any]]
  game: Callable[[Config], Any]
  dataset: Callable[..., Any]
  presets: dict[str, Callable[[], Config]] = {}
  check: Callable[[Config, Any], tuple | None] = lambda config, game: None
  draw: Callable[[Config, Any, Any, Path], None] = draw_grid
  example_inputs: Callable[[Config], tuple[tuple, tuple]] = latent_inputs
  sample_shape: Callable[[Config], tuple[int, ...]] = image_shape
  example_batch: Callable[[Config, np.ndarray], dict] = image_batch
  sampling_options: tuple[str, ...] = ()


REGISTRY: dict[str, Family] = {}


def register(family: Family) -> Family:
  """Makes `family` known by its name, its section to `Config` (a family of the same name is
  replaced: a module imported again registers again). Returns it."""
  REGISTRY[family.name] = family
  config_module.SECTIONS[family.name] = family.section
  return family


def get(name: str) -> Family:
  if name not in REGISTRY:
    raise KeyError(f'unknown family {name!r}; known: {", ".join(REGISTRY)}')
  return REGISTRY[name]


def of(config: Config) -> Family:
  """The family of a config."""
  return get(config.arch)


def networks(config: Config) -> tuple[Any, Any]:
  """The (generator, discriminator) a config describes."""
  return of(config).networks(config)


def game(config: Config):
  """The `Game` a config describes: its family's networks and recipe."""
  return of(config).game(config)


def presets() -> dict[str, Callable[[], Config]]:
  """Every registered family's presets, by name."""
  return {name: preset for family in REGISTRY.values() for name, preset in family.presets.items()}
