"""`python -m jaxgan.translate`: the translate command (`jaxgan.commands.translate`)."""

import sys

from jaxgan.commands.translate import main

sys.exit(main())
