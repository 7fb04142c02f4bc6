"""Comparing two code paths that evaluate the same formula, portably.

Two paths (a numba kernel compiled with contraction and numpy, our function and scipy's) may round
differently on different CPUs: fused multiply-add, SIMD width and operation order change the last
bits. They agree to a few roundings *of the operands*, not of the result: v = -(xi_1 - xi_0) / h is
exact to about eps |xi| / h, whatever |v| is. So the bound is ``ulps * eps * scale`` with ``scale``
the size of the operands (an array broadcast against the values, or a number).
"""
import numpy as np

EPS = np.finfo(np.float64).eps


def assert_same_to_rounding(actual, desired, scale=None, ulps: float = 16):
    """|actual - desired| <= ulps * eps * scale elementwise; ``scale`` defaults to |desired|.

    Infinities and NaNs must sit at the same places with the same signs.
    """
    actual, desired = np.asarray(actual, dtype=float), np.asarray(desired, dtype=float)
    assert actual.shape == desired.shape, (actual.shape, desired.shape)
    finite = np.isfinite(desired)
    np.testing.assert_array_equal(np.isfinite(actual), finite)
    np.testing.assert_array_equal(actual[~finite], desired[~finite])   # same inf / nan pattern
    scale = np.abs(desired) if scale is None else np.broadcast_to(np.abs(scale), desired.shape)
    excess = np.abs(actual - desired)[finite] - ulps * EPS * scale[finite]
    worst = excess.max(initial=-np.inf)
    assert worst <= 0, (f"differs by more than {ulps} roundings of the operands: worst excess "
                        f"{worst:.3g} over the bound")
