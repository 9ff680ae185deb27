"""Retention: purging what was deleted long ago, thinning old metric series, giving space back.

`service.apply_policy` is the one entry of `trackboard gc` and of the periodic job; the
policy (server default and per-experiment tags) is read by `policy`, the only parser of it.
"""
