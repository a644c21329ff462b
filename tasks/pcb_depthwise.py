"""Depthwise convolutions of the PCB detector through a C++ CPU kernel (``pcb_depthwise.cc``).

Paddle's CPU depthwise convolution is its grouped convolution: an im2col and a tiny GEMM per image plane, and a
col2im per plane for the input gradient. On the quick model (batch 8, 160² crops) its 19 depthwise layers took
101 ms of a 222 ms training step (Paddle's profiler); layer by layer on the same inputs, forward + backward take
117 ms with Paddle's kernel and 38 ms with this one. Paddle's extension loader compiles it with the system's C++
compiler once per machine, Paddle version and kernel source, into the user cache (about 15 s; later processes load
it in about 2 s). Off the CPU the layers keep Paddle's kernel; where the kernel cannot be built (no C++ compiler,
no writable cache) too, with a warning saying why.
"""
from __future__ import annotations

import contextlib
import functools
import hashlib
import io
import logging
from pathlib import Path

import paddle
from paddle import nn

from paddle_reg.datasource import user_cache_dir

SOURCE = Path(__file__).with_name("pcb_depthwise.cc")
NAME = "pcb_depthwise"

log = logging.getLogger(__name__)


def build_folder(source: bytes) -> Path:
    """One folder per Paddle version and kernel source: every checkout of the same kernel shares its library, and a
    changed kernel builds beside the old one instead of replacing a library that running processes have loaded."""
    return user_cache_dir() / "ops" / f"{NAME}-paddle{paddle.__version__}-{hashlib.sha256(source).hexdigest()[:12]}"


@functools.cache
def depthwise_op():
    """The compiled ``pcb_depthwise_conv(x, weight, stride, pad)``, or None when this machine cannot build it."""
    from paddle.utils.cpp_extension import load

    source = SOURCE.read_bytes()
    folder = build_folder(source)
    try:
        import fcntl  # POSIX only: elsewhere the kernel is not built

        folder.mkdir(parents=True, exist_ok=True)
        # grid jobs start together: one builds while the others wait on the lock, then they load its library
        with open(folder / "build.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            copy = folder / SOURCE.name  # the loader keys its build on the source's path: one path for every checkout
            if not copy.exists() or copy.read_bytes() != source:
                copy.write_bytes(source)
            if not (folder / NAME / f"{NAME}.so").exists():
                log.info("building the PCB depthwise kernel in %s (once per machine, about 15 s)", folder)
            with contextlib.redirect_stdout(io.StringIO()):  # the loader's own "Compiling user custom op" line
                return load(name=NAME, sources=[str(copy)], extra_cxx_cflags=["-O3", "-fopenmp-simd"],
                            build_directory=str(folder)).pcb_depthwise_conv
    except Exception as exc:  # the compiler's or loader's own error, whatever its type: training goes on slower
        log.warning("the PCB depthwise kernel could not be built in %s (%s): the detector's depthwise convolutions run "
                    "on Paddle's own kernel, about 3× slower; install a C++ compiler (g++) for the fast one",
                    folder, exc)
        return None


class FastDepthwiseConv2D(nn.Conv2D):
    """An ``nn.Conv2D`` with ``groups == channels`` computed by ``pcb_depthwise_conv``: same parameters, outputs and
    gradients."""

    def forward(self, x):
        out = depthwise_op()(x, self.weight, self._stride[0], self._padding)
        return out if self.bias is None else out + self.bias.reshape([1, -1, 1, 1])


def use_fast_depthwise(model: nn.Layer) -> None:
    """On the CPU, turn every depthwise convolution of ``model`` the kernel covers (NCHW, square kernel, one stride
    of 1 or 2, zero padding given as one int, no dilation) into a ``FastDepthwiseConv2D``; state-dict names stay."""
    if not paddle.device.get_device().startswith("cpu") or depthwise_op() is None:
        return
    for layer in model.sublayers():
        if (type(layer) is nn.Conv2D and layer._groups == layer._in_channels == layer._out_channels > 1
                and layer._data_format == "NCHW" and layer._padding_mode == "zeros"
                and isinstance(layer._padding, int) and layer._dilation == [1, 1]
                and layer._kernel_size[0] == layer._kernel_size[1] and layer._stride[0] == layer._stride[1] in (1, 2)):
            layer.__class__ = FastDepthwiseConv2D
