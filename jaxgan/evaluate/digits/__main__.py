"""`python -m jaxgan.evaluate.digits`: the digits command (`jaxgan.commands.digits`)."""

import sys

from jaxgan.commands.digits import main

sys.exit(main())
