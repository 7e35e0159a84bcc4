"""A process that ends with its parent, through Linux's parent-death signal."""

import ctypes
import os
import signal
import sys

# prctl(2) option: the signal a process gets when the thread that started it ends.
PR_SET_PDEATHSIG = 1


def end_with_parent(parent: int, signum: int = signal.SIGTERM) -> None:
    """`signum` reaches this process when `parent` (the process that started it) ends;
    if it has ended already, exit now. Elsewhere than on Linux, nothing."""
    if sys.platform != "linux":
        return
    ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signum)
    if os.getppid() != parent:  # the parent ended before prctl took effect
        os._exit(1)
