"""`python -m jaxgan.sample`: the sample command (`jaxgan.commands.sample`)."""

import sys

from jaxgan.commands.sample import main

sys.exit(main())
