"""The command line of `train.py`: flags -> `Config` -> `jaxgan.train.run`.

User errors (a bad flag, an unknown preset, an unwritable workdir, an unreadable dataset) end
with one line on stderr and exit code 2; a diverged run, and a run whose disk is full, end with
one line and exit code 1.
"""

import argparse
import errno
import json
import sys
import textwrap
from pathlib import Path

import jax.numpy as jnp

from jaxgan import configs, data, families, games, parallel, train
from jaxgan.checkpoint import DiskFull
from jaxgan.commands.common import (OneLineErrorParser, add_compile_cache_flag, command_name,
                                    coordinator_address, exit_at_once, load_family_plugins,
                                    non_negative_int, positive_int, use_compile_cache,
                                    writable_problem)
from jaxgan.config import DTYPES
from jaxgan.data import DatasetError, check_outside
from jaxgan.evaluate.inception import WeightsMissing
from jaxgan.summary import summarize


def make_parser() -> argparse.ArgumentParser:
  width = max(map(len, families.presets())) + 2
  presets = '\n'.join(textwrap.fill(fn.__doc__.splitlines()[0], 79,
                                    initial_indent=f'  {name:<{width}}',
                                    subsequent_indent=' ' * (width + 2))
                      for name, fn in families.presets().items())
  parser = OneLineErrorParser(
      prog='train.py', description='Train a GAN with jaxgan.',
      formatter_class=argparse.RawDescriptionHelpFormatter,
      epilog=f'presets (--config NAME; the first line of each preset\'s docstring, in its '
             f'family\'s module, jaxgan/families/):\n{presets}')
  parser.add_argument('--config', default=configs.DEFAULT, metavar='NAME',
                      help=f'preset: {", ".join(families.presets())} (default: %(default)s)')
  parser.add_argument('--dataset', metavar='SPEC',
                      help="the preset's by default; 'digits' (embedded), tfds:NAME[:SPLIT] "
                           "(prepared as array_record in --data-dir), or a folder of "
                           "JPEG/PNG/WebP images (searched recursively, cached once); for "
                           "pix2pix, pairs (digits_x4, or a folder in its layouts); for "
                           "CycleGAN, two domains (digits_styles, or a folder with trainA/ and "
                           "trainB/)")
  parser.add_argument('--direction', choices=('AtoB', 'BtoA'),
                      help="pix2pix: which side of a paired folder is the source (default: "
                           "the preset's)")
  parser.add_argument('--data-dir', metavar='DIR',
                      help="TFDS datasets' directory (default: TFDS's) and where folder "
                           "datasets are cached (default: ~/.cache/jaxgan)")
  parser.add_argument('--data-workers', type=non_negative_int, default=0, metavar='N',
                      help='build batches in N worker processes (Grain), for inputs whose '
                           'decoding is the bottleneck (default 0: one reading thread)')
  parser.add_argument('--steps-per-call', type=positive_int, default=1, metavar='K',
                      help='hand the devices K steps in one call wherever the run does nothing '
                           'between them: the same steps, for small models on fast '
                           'accelerators, where the host\'s work per call outlasts a step '
                           '(default 1)')
  parser.add_argument('--workdir', default='runs/default', metavar='DIR',
                      help='where config.json, metrics.jsonl, samples/ and checkpoints/ go; '
                           'a workdir with checkpoints is resumed (default: %(default)s)')
  parser.add_argument('--steps', type=positive_int, metavar='N', help='training steps')
  parser.add_argument('--batch-size', type=positive_int, metavar='B', help='global batch size')
  parser.add_argument('--seed', type=non_negative_int, metavar='S',
                      help='random seed (default: 0)')
  parser.add_argument('--checkpoint-every', type=positive_int, metavar='N',
                      help="save a checkpoint every N steps (and at the end)")
  parser.add_argument('--dtype', choices=DTYPES,
                      help='compute dtype (default float32); parameters and optimizer state stay '
                           'float32')
  parser.add_argument('--keep', type=positive_int, metavar='K', help='keep the last K checkpoints')
  parser.add_argument('--eval-every', type=non_negative_int, metavar='N',
                      help="log the Frechet distance, precision and recall of the EMA "
                           "generator every N steps and keep the best checkpoint in best/ (0: "
                           "never; the digits presets: 500, in the digits' feature space; other "
                           "data: FID's Inception, with --inception)")
  parser.add_argument('--inception', metavar='FILE',
                      help="FID's converted Inception weights for --eval-every on other data "
                           "than the digits (default: $JAXGAN_INCEPTION)")
  parser.add_argument('--init-from', metavar='DIR',
                      help="start a new run from the latest weights of a workdir (a run's or "
                           "python -m jaxgan.convert's): fine-tuning; shapes must agree")
  parser.add_argument('--set', action='append', default=[], metavar='FIELD=VALUE',
                      help='override any config field, e.g. --set g_lr=2e-4 (repeatable)')
  parser.add_argument('--summary', action='store_true',
                      help='print both networks layer by layer with parameter counts, and exit')
  parser.add_argument('--no-progress', action='store_true', help='no progress bar')
  parser.add_argument('--no-curves', action='store_true',
                      help='no curves.png (TensorBoard\'s files hold the same numbers)')
  add_compile_cache_flag(parser)
  multi = parser.add_argument_group(
      'data parallelism', 'the global batch is split over every local device (and every host of '
      'a multi-process run); the result matches a one-device run up to float rounding')
  multi.add_argument('--parallel', choices=parallel.MODES, default=parallel.DEFAULT_MODE,
                     help='how the step runs over devices (default: %(default)s)')
  multi.add_argument('--devices', type=positive_int, metavar='N',
                     help='use only the first N local devices of each process')
  multi.add_argument('--coordinator', type=coordinator_address, metavar='HOST:PORT',
                     help="multi-process run: process 0's address (or JAX_COORDINATOR_ADDRESS); "
                          "'auto' lets JAX detect SLURM, Open MPI or Cloud TPU")
  multi.add_argument('--num-processes', type=positive_int, metavar='P',
                     help='multi-process run: number of processes (or JAX_NUM_PROCESSES)')
  multi.add_argument('--process-id', type=non_negative_int, metavar='I',
                     help='multi-process run: this process, 0..P-1 (or JAX_PROCESS_ID)')
  return parser


def build_config(args, parser) -> 'configs.Config':
  try:
    config = configs.get(args.config)
    flags = {'dataset': args.dataset, 'steps': args.steps, 'batch_size': args.batch_size,
             'seed': args.seed, 'checkpoint_every': args.checkpoint_every, 'keep': args.keep,
             'dtype': args.dtype, 'eval_every': args.eval_every, 'direction': args.direction}
    if args.dataset not in (None, 'digits') and args.eval_every is None:
      flags['eval_every'] = 0  # a digits preset on other data: its evaluation does not apply
    given = {k: v for k, v in flags.items() if v is not None}
    config = config.replace(**given).override(args.set)
    flag_names = {'eval_every': '--eval-every', 'direction': '--direction'}
    for field, flag in flag_names.items():
      if getattr(args, field) is not None:
        _check_used(config, field, flag)
    for assignment in args.set:
      _check_used(config, assignment.partition('=')[0], '--set')
    return config
  except (KeyError, ValueError) as error:
    parser.error(error.args[0])


def _check_used(config, field: str, flag: str) -> None:
  try:
    config.check_used([field])
  except ValueError as error:
    raise ValueError(f'{flag} {field}: {error}' if flag == '--set' else f'{flag}: {error}') \
        from None


def print_summary(config, data_dir=None) -> None:
  """Both networks layer by layer; for a conditional config, first the dataset's classes; for
  progressive networks, both at each stage the run reaches."""
  if getattr(config, 'conditional', False):
    classes = data.load_examples(config.dataset, config.image_size, config.channels, data_dir,
                                 labels=True).classes
    config = config.replace(classes=classes)
    print(f'classes: {len(classes)} ({", ".join(classes[:20])}'
          f'{", ..." if len(classes) > 20 else ""})\n')
  family = families.of(config)
  generator, discriminator = family.networks(config)
  g_inputs, d_inputs = family.example_inputs(config)
  if not hasattr(generator, 'stage'):
    print(summarize(generator, *g_inputs, title='generator'))
    print()
    print(summarize(discriminator, *d_inputs, train=True, title='discriminator'))
    return
  game = family.game(config)
  for stage in range(games.stage_after(game, config.steps) + 1):
    size = game.image_size(stage) or config.image_size
    where = f'stage {stage} ({size}x{size})'
    print(summarize(generator.clone(stage=stage), *g_inputs, title=f'generator, {where}'))
    print()
    image = jnp.zeros((1, size, size, config.channels))
    print(summarize(discriminator.clone(stage=stage), image, *d_inputs[1:], train=True,
                    title=f'discriminator, {where}'))
    print()


def main(argv=None) -> int:
  """Runs the command with `argv` (default: the process's arguments) and returns its exit code.
  As a command (no `argv`), a full disk ends the process at once (`exit_at_once`); called from
  code with `argv`, it returns 1 and leaves the caller's process running."""
  load_family_plugins(command_name('train.py'))  # before the parser: it lists their presets
  parser = make_parser()
  args = parser.parse_args(argv)
  if None not in (args.process_id, args.num_processes) and args.process_id >= args.num_processes:
    parser.error(f'--process-id must be below --num-processes ({args.process_id} of '
                 f'{args.num_processes})')
  config = build_config(args, parser)
  if args.summary:
    try:
      print_summary(config, args.data_dir)
    except DatasetError as error:
      parser.error(str(error))
    return 0
  workdir = Path(args.workdir)
  try:
    check_outside(config.dataset, workdir)
  except DatasetError as error:
    parser.error(str(error))
  if problem := writable_problem(workdir):
    parser.error(problem)
  if problem := use_compile_cache(args.compile_cache):
    parser.error(problem)

  try:
    parallel.initialize(args.coordinator, args.num_processes, args.process_id)
    data_parallel = parallel.DataParallel(args.parallel, parallel.select_devices(args.devices))
    summary = train.run(config, workdir, progress=not args.no_progress, parallel=data_parallel,
                        data_dir=args.data_dir, data_workers=args.data_workers,
                        steps_per_call=args.steps_per_call,
                        inception_weights=args.inception,
                        init_from=args.init_from, curves=not args.no_curves)
  except (DatasetError, train.CheckpointMismatch, train.WorkdirBusy, parallel.ParallelError,
          WeightsMissing) as error:
    parser.error(str(error))
  except train.TrainingDiverged as error:
    print(f'{parser.prog}: {error}', file=sys.stderr)
    return 1
  except OSError as error:
    if not isinstance(error, DiskFull) and error.errno != errno.ENOSPC:
      raise
    print(f'{parser.prog}: {error}', file=sys.stderr)
    if argv is None:
      exit_at_once(1)
    return 1
  except train.Interrupted as error:
    print(f'{parser.prog}: {error}', file=sys.stderr)
    return 128 + error.signum
  except KeyboardInterrupt:  # before the loop listens for signals: nothing to save yet
    print(f'{parser.prog}: interrupted before the first step; nothing was saved',
          file=sys.stderr)
    return 130
  print(json.dumps(summary))
  return 0
