"""Train a GAN: `python train.py --help`. The logic lives in `jaxgan.cli` and `jaxgan.train`."""

import sys

from jaxgan.cli import main

if __name__ == '__main__':
  sys.exit(main())
