"""`python -m jaxgan.evaluate.inception`: the inception command (`jaxgan.commands.inception`)."""

import sys

from jaxgan.commands.inception import main

sys.exit(main())
