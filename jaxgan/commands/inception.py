"""Converts pytorch-fid's Inception state dict into the .npz jaxgan reads:
`python -m jaxgan.evaluate.inception STATE_DICT OUT.npz` (needs torch once)."""

import argparse
from pathlib import Path

import jax
import jax.numpy as jnp

from jaxgan.evaluate.inception import WEIGHTS_FILE, FIDInception, from_state_dict, save_weights


def main(argv=None) -> int:
  """Converts pytorch-fid's state dict into the .npz jaxgan reads."""
  parser = argparse.ArgumentParser(prog='python -m jaxgan.evaluate.inception',
                                   description=main.__doc__)
  parser.add_argument('state_dict', help=WEIGHTS_FILE)
  parser.add_argument('out', help='the .npz to write')
  args = parser.parse_args(argv)
  try:
    import torch
  except ImportError:
    parser.exit(2, f'{parser.prog}: error: converting needs torch (pip install torch); the '
                   f'converted file does not\n')
  if not Path(args.state_dict).is_file():
    parser.exit(2, f'{parser.prog}: error: {args.state_dict!r} does not exist\n')
  try:
    state_dict = torch.load(args.state_dict, map_location='cpu', weights_only=True)
  except Exception as error:  # noqa: BLE001 (torch's unpickler fails in many ways)
    parser.exit(2, f'{parser.prog}: error: cannot read {args.state_dict!r} as a state dict: '
                   f'{str(error).strip().splitlines()[0] if str(error) else type(error).__name__}'
                   f'\n')
  params = from_state_dict({name: value.numpy() for name, value in state_dict.items()})
  expected = jax.eval_shape(FIDInception().init, jax.random.key(0), jnp.zeros((1, 75, 75, 3)))
  expected = {**expected['params'], 'fc': {'bias': 0, 'kernel': 0}}
  if jax.tree.structure(expected) != jax.tree.structure(params):
    parser.exit(2, f'{parser.prog}: error: {args.state_dict} is not the FID Inception\'s state '
                   f'dict\n')
  save_weights(params, args.out)
  print(f'wrote {args.out}')
  return 0
