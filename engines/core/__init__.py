"""The shared core: schedules, diffusion maths, samplers, guidance, networks, training, checkpoints."""
