"""Models registered only by the reliability tests: one that kills its own process with
SIGSEGV (what a segfault inside R or torch does), one that sleeps past any timeout."""
from __future__ import annotations

import os
import signal
import time

from pysurvbridge.comparison import ModelSpec


def _segfault(split):
    os.kill(os.getpid(), signal.SIGSEGV)


def _sleep(split):
    time.sleep(300)


SEGFAULT = ModelSpec("segfault", "deep", _segfault, description="kills its process with SIGSEGV")
SLEEPER = ModelSpec("sleeper", "deep", _sleep, description="sleeps 300 s")
