"""Compare: many runs' series of one key, per run or reduced per group to a mean and bands."""
