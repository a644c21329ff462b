"""Flush-to-zero and denormals-are-zero: the CPU reads and writes subnormal floats as 0 in this thread.

A subnormal operand (|x| < 1.2e-38 in float32) costs x86 cores many times a normal one: weights that coupled L2 drives
toward 0 while the learning rate decays made late epochs of a weight-decay run 10× slower. Threads inherit the
floating-point environment of the thread that starts them, so this is set before Paddle starts its CPU threads.
Set through the C library's ``fegetenv``/``fesetenv`` (glibc's ``fenv_t`` layouts); no Paddle import here.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import logging
import platform

log = logging.getLogger(__name__)

# glibc's fenv_t per machine: (32-bit words, index of the SIMD control word, its flush bits, the mode they set)
FENV_LAYOUTS = {
    "x86_64": (8, 7, 0x8040, "ftz+daz"),  # MXCSR bit 15 flush-to-zero, bit 6 denormals-are-zero
    "aarch64": (2, 0, 1 << 24, "fz"),  # FPCR.FZ flushes subnormal inputs and results alike
}
OFF = "off"


def _libm():
    name = ctypes.util.find_library("m")
    return ctypes.CDLL(name) if name else None


def set_flush_denormal(enabled: bool) -> str:
    """Switch the mode on or off for this thread (and threads it starts later); returns the mode now in force."""
    layout = FENV_LAYOUTS.get(platform.machine()) if platform.system() == "Linux" else None
    libm = _libm() if layout else None
    if libm is None:
        if not enabled:
            return OFF
        log.info("flush_denormal: no known switch on %s %s; subnormal floats stay slow",
                 platform.system(), platform.machine())
        return f"unsupported ({platform.system()} {platform.machine()})"
    words, index, bits, mode = layout
    env = (ctypes.c_uint32 * words)()
    if libm.fegetenv(env) != 0:
        return f"unsupported (fegetenv failed on {platform.machine()})"
    env[index] = env[index] | bits if enabled else env[index] & ~bits
    if libm.fesetenv(env) != 0:
        return f"unsupported (fesetenv failed on {platform.machine()})"
    return mode if enabled else OFF
