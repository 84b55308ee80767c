"""`python -m jaxgan.convert`: the convert command (`jaxgan.commands.convert`)."""

import sys

from jaxgan.commands.convert import main

sys.exit(main())
