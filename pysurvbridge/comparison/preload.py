"""What the fork server of isolated cells imports and runs once, so that every cell forked
from it starts warm (measured on bladder1: a Cox cell took 0.44 s forked from a cold server
and 0.10 s in a warm process; an LSTM-Cox cell 2.5 s against 0.55 s):

- torch, with ``torch._dynamo`` (imported by the first optimizer, 2.4 s), and the package's
  models, metrics and registries;
- the native engine's numba kernels, loaded from their cache by a fit on 40 simulated
  subjects (0.6 s per process otherwise);
- embedded R with ``survival`` loaded. Forking a started R is what R's own
  ``parallel::mcparallel`` does; each cell's process ends with ``os._exit``, so no child
  cleans up R's session folder under the others.

No tensor operation runs here, so the server never starts torch's thread pool (a pool does
not survive a fork). Nothing here may raise: the fork server would die with it. Where R does
not start, the cells that need it start it themselves and report the reason as their error.
"""
from __future__ import annotations

import warnings

import numpy as np

import torch  # noqa: F401  (the point is the import)
import torch._dynamo  # noqa: F401
import torch.optim  # noqa: F401

import pysurvbridge.classical  # noqa: F401
import pysurvbridge.comparison.builtin  # noqa: F401
import pysurvbridge.comparison.builtin_multi_event  # noqa: F401
import pysurvbridge.metrics  # noqa: F401
import pysurvbridge.models  # noqa: F401


def _warm_native_engine() -> None:
    from pysurvbridge.classical import fit_andersen_gill, fit_cox, fit_pwp, fit_wlw
    from pysurvbridge.metrics import concordance_harrell
    from pysurvbridge.simulate import simulate_recurrent

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            data = simulate_recurrent(40, seed=0)
            for ties in ("efron", "breslow"):
                fit_cox(data, ties=ties, engine="native")
                fit_andersen_gill(data, ties=ties, engine="native")
                fit_pwp(data, ties=ties, engine="native")
                fit_wlw(data, ties=ties, engine="native")
            rng = np.random.default_rng(0)
            concordance_harrell(rng.normal(size=40), rng.exponential(size=40), rng.integers(0, 2, 40))
    except Exception:  # noqa: BLE001  (see the module docstring)
        pass


def _start_r() -> None:
    from pysurvbridge import rbridge

    try:
        if rbridge.is_available():
            rbridge.call("loadNamespace", "survival", package="base")
    except Exception:  # noqa: BLE001  (see the module docstring)
        pass


_warm_native_engine()
_start_r()
