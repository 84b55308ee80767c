"""Eight simulated CPU devices for this test process (training subprocesses keep their own)."""

import jax

jax.config.update('jax_num_cpu_devices', 8)
