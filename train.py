"""Train a GAN: `python train.py --help`. The command is `jaxgan.commands.train`, the loop
`jaxgan.train`."""

import sys

from jaxgan.commands.train import main

if __name__ == '__main__':
  sys.exit(main())
