"""`Config`: a run's settings, the fields every family reads and its family's own section.

A `Config` holds what the loop, the data, the optimizers and the losses read, the name of its
family (`arch`) and `family`: that family's `Section`, a frozen dataclass its module declares
(`jaxgan.families`). A family's fields are set and read by their names, as the config's own:
`config.replace(g_widths=(8,))`, `--set g_widths=8` and `config.g_widths` reach the section. A
field that the run's family does not read is refused naming the family that does
(`Config.check_used`). `to_dict` writes one flat dict (config.json, a checkpoint's config);
`from_dict` reads it, and reads too the flat config of every field that earlier versions wrote.

This module validates types, ranges and the choices it owns, without importing the
implementations: a section checks its own fields and, in `Section.check`, what its family
needs (`jaxgan.families.common.FamilySection` checks the losses, optimizers and augmentations by
name). Presets live with their families (`jaxgan.configs` lists them).
"""

import dataclasses
import json
import math
import typing
from typing import Any, ClassVar

DTYPES = ('float32', 'bfloat16')


class UnknownFields(ValueError):
  """A saved config has fields this version of jaxgan does not know; the message names them."""


@dataclasses.dataclass(frozen=True)
class Section:
  """A family's config section: a frozen dataclass of the fields only that family reads (or a
  kind of families: `jaxgan.families.common.Adversarial`). Its fields are checked for their
  type and range (`RANGES`, merged along the class's bases; else positive integers) when it is
  made; `check(config)` checks what needs the run's shared fields too."""

  RANGES: ClassVar[dict] = {}  # field -> (what it must be, predicate)
  STRUCTURE: ClassVar[tuple[str, ...]] = ()  # fields that fix the shapes of the state
  IN_USE: ClassVar[tuple[str, ...]] = ()  # fields whose being above 0 fixes a piece of state

  def __post_init__(self):
    ranges = {}
    for base in reversed(type(self).__mro__):
      ranges.update(vars(base).get('RANGES', {}))
    for field, kind in section_fields(type(self)).items():
      _check_value(field, kind, getattr(self, field), ranges)

  def check(self, config: 'Config') -> None:
    """`ValueError` for what the section cannot do with `config`'s shared fields."""

  @property
  def batch_group(self) -> int:
    """The samples the family's discriminator groups (minibatch standard deviation): a device's
    batch must be a multiple of it, or smaller."""
    return 1

  def structure_changes(self, saved: dict, current: dict) -> list[str]:
    """More than `STRUCTURE` and `IN_USE`: what else of a saved config (flat) fixes shapes."""
    del saved, current
    return []


# The sections of the families this process knows, by name (`jaxgan.families.register`).
SECTIONS: dict[str, type[Section]] = {}


def section_fields(section: type[Section]) -> dict[str, Any]:
  """A section's fields and their types."""
  return {field.name: typing.get_type_hints(section)[field.name]
          for field in dataclasses.fields(section)}


@dataclasses.dataclass(frozen=True)
class Config:
  """Every field, the family's included, can be set from the command line with `--set
  field=value`."""

  name: str = 'custom'
  # data
  dataset: str = 'digits'  # see jaxgan.data.load_dataset
  image_size: int = 64  # images are center-cropped to a square and resized to this
  channels: int = 3  # 1: grayscale, 3: RGB
  hflip: bool = False  # mirror each training image left-right with probability 1/2
  # the family: its name, and its section (None: its defaults)
  arch: str = 'dcgan'
  dtype: str = 'float32'  # compute dtype, 'float32' or 'bfloat16' (parameters stay float32)
  # the loss and the optimizers
  loss: str = 'keras_bce'  # see jaxgan.losses.LOSSES (f_kl, f_jensen_shannon, ...: f-GAN)
  label_noise: float = 0.05  # keras_bce only
  drift: float = 0.0  # wasserstein only: drift * E[D(real)^2] in the critic's loss (PGGAN's)
  optimizer: str = 'keras_adam'  # or 'adam' (optax's)
  g_lr: float = 1e-4
  d_lr: float = 1e-4
  adam_b1: float = 0.9
  adam_b2: float = 0.999
  adam_eps: float = 1e-7  # Keras' default
  lr_decay: str = 'constant'  # or 'cosine': both learning rates decay to 0 over the run; or
  #                             'linear': constant for half the run, then linearly to 0 (pix2pix)
  # the run
  batch_size: int = 32
  steps: int = 10_000
  seed: int = 0
  log_every: int = 50
  checkpoint_every: int = 500
  keep: int = 3  # checkpoints kept
  sample_every: int = 0  # 0: once per epoch, like the keras.io example's GANMonitor
  sample_grid: int = 8  # the sample PNG is a grid x grid mosaic
  eval_every: int = 0  # every N steps the Frechet distance, precision and recall of the EMA
  #                      generator's samples go to metrics.jsonl, the best checkpoint to best/
  eval_features: str = 'auto'  # digits (the digits' feature network), inception (FID's: needs
  #                              its weights) or auto: digits on the digits, inception otherwise
  eval_samples: int = 1000  # samples drawn for each evaluation (and real images, for inception)
  family: Section | None = None

  def __post_init__(self):
    for field, kind in SHARED.items():
      _check_value(field, kind, getattr(self, field), RANGES)
    if self.arch not in SECTIONS:
      raise ValueError(f'unknown arch {self.arch!r}; known: {", ".join(SECTIONS)} (a family of '
                       f'your own is known once registered: the commands import those '
                       f'$JAXGAN_FAMILIES names)')
    section = SECTIONS[self.arch]
    if self.family is None:
      object.__setattr__(self, 'family', section())
    elif type(self.family) is not section:
      raise ValueError(f'a {self.arch} config takes a {section.__name__} section, not '
                       f'{type(self.family).__name__}')
    for field, choices in CHOICES.items():
      if getattr(self, field) not in choices:
        raise ValueError(f'{field} must be one of {", ".join(choices)}, got '
                         f'{getattr(self, field)!r}')
    if self.batch_size % min(self.batch_group, self.batch_size):
      raise ValueError(f'batch_size {self.batch_size} is not a multiple of mbstd_group '
                       f'{self.batch_group} (the discriminator\'s minibatch-stddev groups)')
    if self.eval_every and self.eval_space == 'digits' and self.dataset != 'digits':
      raise ValueError(f'eval_features digits compares with the digits, not {self.dataset!r}: '
                       f'use --set eval_features=inception')
    self.family.check(self)

  def __getattr__(self, name: str):
    """A field of the family's section, by its name."""
    family = self.__dict__.get('family')
    if name.startswith('__') or family is None or name not in section_fields(type(family)):
      raise AttributeError(f'a {self.__dict__.get("arch", "")} config has no field {name!r}')
    return getattr(family, name)

  @property
  def batch_group(self) -> int:
    """The samples the family's discriminator groups (`Section.batch_group`)."""
    return self.family.batch_group

  @property
  def eval_space(self) -> str:
    """The evaluation's features, 'auto' resolved by the dataset."""
    if self.eval_features != 'auto':
      return self.eval_features
    return 'digits' if self.dataset == 'digits' else 'inception'

  def replace(self, **changes) -> 'Config':
    """The config with `changes`, shared fields and the family's alike by their names. A new
    `arch` takes its family's section, keeping the fields it shares with the old one."""
    family = changes.pop('family', None)
    arch = changes.get('arch', self.arch)
    if family is None:
      if arch not in SECTIONS:
        raise ValueError(f'unknown arch {arch!r}; known: {", ".join(SECTIONS)}')
      section, old = SECTIONS[arch], section_fields(type(self.family))
      family = self.family if section is type(self.family) else section(
          **{field: getattr(self.family, field) for field in section_fields(section)
             if field in old})
    own = section_fields(type(family))
    in_section = {field: changes.pop(field) for field in list(changes) if field in own}
    for field in changes:
      if field not in SHARED:
        self.check_used([field])
        raise ValueError(f'unknown config field {field!r}')
    if in_section:
      family = dataclasses.replace(family, **in_section)
    return dataclasses.replace(self, **changes, family=family)

  def override(self, assignments: list[str]) -> 'Config':
    """Applies `field=value` strings, parsing each value by the field's type; a field of the
    family's is set as the config's own."""
    changes = {}
    for assignment in assignments:
      field, sep, text = assignment.partition('=')
      if not sep:
        raise ValueError(f'expected field=value, got {assignment!r}')
      if field == 'family':
        raise ValueError("family is the section of the family's fields: set each by its name")
      kinds = {**SHARED, **section_fields(type(self.family))}
      if field not in kinds:
        self.check_used([field])
        raise ValueError(f'unknown config field {field!r}')
      changes[field] = _parse(kinds[field], text, field)
    return self.replace(**changes)

  def check_used(self, fields) -> None:
    """`ValueError` naming the first of `fields` (set by the user) that this config's family or
    loss does not read, and the families or the loss that do."""
    own = section_fields(type(self.family))
    for field in fields:
      owners = [name for name, section in SECTIONS.items() if field in section_fields(section)]
      if field not in SHARED and field not in own and owners:
        raise ValueError(f'{field} is a setting of {", ".join(owners)}; this run is '
                         f'{self.arch}, which does not read it')
      if field in LOSS_FIELDS and self.loss != LOSS_FIELDS[field]:
        raise ValueError(f'{field} is a setting of the {LOSS_FIELDS[field]} loss; this run\'s '
                         f'loss is {self.loss}, which does not read it')

  def to_dict(self) -> dict:
    """One flat dict: the shared fields and the family's."""
    values = {field: getattr(self, field) for field in SHARED}
    return {**values, **dataclasses.asdict(self.family)}

  @classmethod
  def from_dict(cls, values: dict) -> 'Config':
    """Inverse of `to_dict` after a JSON round trip (lists back to tuples). A field of another
    family's section is left out (earlier versions wrote every family's field); fields that no
    family of this version knows (a config written by another version of jaxgan) raise
    `UnknownFields` naming them; fields missing take their defaults."""
    arch = values.get('arch', 'dcgan')
    if arch not in SECTIONS:
      raise UnknownFields(f'a config of the family {arch!r}, which this process does not know '
                          f'(known: {", ".join(SECTIONS)}); a family of your own must be '
                          f'registered (jaxgan.families.register) before its runs are read: '
                          f'the commands import those $JAXGAN_FAMILIES names')
    own = section_fields(SECTIONS[arch])
    known = set(SHARED) | {field for section in SECTIONS.values()
                           for field in section_fields(section)}
    if unknown := sorted(set(values) - known):
      raise UnknownFields(f'a config written by another version of jaxgan, with field'
                          f'{"s" if len(unknown) > 1 else ""} this version does not know: '
                          f'{", ".join(unknown)}')
    read = {k: tuple(v) if isinstance(v, list) else v for k, v in values.items()}
    read['loss'] = RENAMED_LOSSES.get(read.get('loss'), read.get('loss', Config.loss))
    return cls(**{k: v for k, v in read.items() if k in SHARED},
               family=SECTIONS[arch](**{k: v for k, v in read.items() if k in own}))

  def structure_changes(self, saved: dict) -> list[str]:
    """Fields that differ from a saved config (flat) in a way that changes the state's
    shapes."""
    section = type(self.family)
    defaults = json.loads(json.dumps({  # what older runs did not write
        **{field.name: field.default for field in dataclasses.fields(Config)
           if field.name != 'family'},
        **{field.name: field.default for field in dataclasses.fields(section)}}))

    def structural(values: dict, field: str):
      value = values.get(field, defaults.get(field))
      if field in section.IN_USE:
        return (value or 0) > 0  # used or not (its state exists or not); the value may change
      return value

    current = json.loads(json.dumps(self.to_dict()))  # tuples as JSON lists, like `saved`
    fields = ('arch', 'image_size', 'channels', 'optimizer', *section.STRUCTURE, *section.IN_USE)
    return [field for field in fields if structural(saved, field) != structural(current, field)
            ] + self.family.structure_changes(saved, current)


SHARED = {field.name: typing.get_type_hints(Config)[field.name]
          for field in dataclasses.fields(Config) if field.name != 'family'}
CHOICES = {'dtype': DTYPES, 'eval_features': ('auto', 'digits', 'inception'),
           'lr_decay': ('constant', 'cosine', 'linear')}
# Fields one loss reads.
# Losses by their earlier names, as configs saved by earlier versions name them.
RENAMED_LOSSES = {'seed_bce': 'keras_bce'}
LOSS_FIELDS = {'label_noise': 'keras_bce', 'drift': 'wasserstein'}

# The values a numeric field can take, beyond its type (every float must be finite): the fields
# not named here (or in a section's RANGES) are positive integers.
AT_LEAST_0 = ('0 or more', lambda value: value >= 0)
POSITIVE = ('positive', lambda value: value > 0)
FRACTION = ('in [0, 1]', lambda value: 0 <= value <= 1)
BELOW_1 = ('in [0, 1)', lambda value: 0 <= value < 1)
RANGES = {
    'channels': ('1 (grey) or 3 (RGB)', lambda value: value in (1, 3)),
    'seed': ('in [0, 2**31)', lambda value: 0 <= value < 2 ** 31),
    'sample_every': AT_LEAST_0, 'eval_every': AT_LEAST_0,
    'adam_b1': BELOW_1, 'adam_b2': BELOW_1,
    'g_lr': POSITIVE, 'd_lr': POSITIVE, 'adam_eps': POSITIVE,
    'label_noise': AT_LEAST_0, 'drift': AT_LEAST_0,
}


def field_ranges() -> dict:
  """Every numeric field's range: the shared fields' and each known section's."""
  ranges = dict(RANGES)
  for section in SECTIONS.values():
    for base in reversed(section.__mro__):
      ranges.update(vars(base).get('RANGES', {}))
  return ranges


def field_owners() -> dict[str, tuple[str, ...]]:
  """{field: the families whose sections hold it} for every section field."""
  owners = {}
  for name, section in SECTIONS.items():
    for field in section_fields(section):
      owners[field] = (*owners.get(field, ()), name)
  return owners


def _check_value(field: str, kind, value, ranges: dict) -> None:
  """`ValueError` naming `field` unless `value` is of its type (`kind`) and in its range
  (`ranges`; else a positive integer, or a tuple of them)."""
  if typing.get_origin(kind) is tuple:
    (item,) = set(typing.get_args(kind)) - {Ellipsis}
    if not isinstance(value, tuple) or not all(isinstance(x, item) and not isinstance(x, bool)
                                               for x in value):
      raise ValueError(f'{field} must be a tuple of {item.__name__}, got {value!r}')
    if item is int and (not value or any(x <= 0 for x in value)):
      raise ValueError(f'{field} must be positive integers, got {value!r}')
    return
  numeric = kind in (int, float)
  if isinstance(value, bool) != (kind is bool) or not isinstance(
      value, (int, float) if kind is float else kind):
    raise ValueError(f'{field} must be {"a number" if kind is float else kind.__name__}, '
                     f'got {value!r}')
  if not numeric:
    return
  if not math.isfinite(value):
    raise ValueError(f'{field} must be finite, got {value}')
  name, allowed = ranges.get(field, ('a positive integer', lambda value: value > 0))
  if not allowed(value):
    raise ValueError(f'{field} must be {name}, got {value}')


def _parse(kind, text: str, field: str):
  try:
    if kind is bool:
      if text.lower() not in ('true', 'false', '1', '0'):
        raise ValueError(text)
      return text.lower() in ('true', '1')
    if typing.get_origin(kind) is tuple:
      (item,) = set(typing.get_args(kind)) - {Ellipsis}
      return tuple(item(part) for part in text.split(',') if part)
    return kind(text)
  except ValueError:
    raise ValueError(f'{field}: cannot read {text!r} as {getattr(kind, "__name__", kind)}') from None
