"""Array data that numpy reports through PyTraceMalloc_Track shows at the
line that made it (README: numpy and other extensions)."""
import numpy as np


def load(n):
    return np.random.default_rng(0).random(n)   # n float64: 8 bytes each


def features(x):
    return np.stack([x, x ** 2, np.sqrt(x)])    # 3 more copies; temporaries freed


x = load(5_000_000)
f = features(x)
view = f[:, ::2]   # a view shares f's data: nothing new
f *= 2.0           # in place: nothing new
print("arrays: %.0f MB" % ((x.nbytes + f.nbytes) / 1e6))
