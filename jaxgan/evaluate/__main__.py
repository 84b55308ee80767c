"""`python -m jaxgan.evaluate`: the evaluate command (`jaxgan.commands.evaluate`)."""

import sys

from jaxgan.commands.evaluate import main

sys.exit(main())
