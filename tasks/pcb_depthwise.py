"""Depthwise convolutions of the PCB detector through a C++ CPU kernel (``pcb_depthwise.cc``).

Paddle's CPU depthwise convolution is its grouped convolution: an im2col and a tiny GEMM per image plane, and a
col2im per plane for the input gradient. On the quick model (batch 8, 160² crops) its 19 depthwise layers took
101 ms of a 222 ms training step (Paddle's profiler); layer by layer on the same inputs, forward + backward take
117 ms with Paddle's kernel and 38 ms with this one. Paddle's extension loader compiles it once per machine and
Paddle version into the user cache (about 15 s; later processes load it in about 2 s). Where it cannot be built
(no C++ compiler), or off the CPU, the layers keep Paddle's kernel.
"""
from __future__ import annotations

import contextlib
import fcntl
import functools
import io
import logging
from pathlib import Path

import paddle
from paddle import nn

SOURCE = Path(__file__).with_name("pcb_depthwise.cc")

log = logging.getLogger(__name__)


@functools.cache
def depthwise_op():
    """The compiled ``pcb_depthwise_conv(x, weight, stride, pad)``, or None when this machine cannot build it."""
    from paddle.utils.cpp_extension import load
    from platformdirs import user_cache_dir

    folder = Path(user_cache_dir("paddle_reg")) / "ops" / f"paddle-{paddle.__version__}"
    folder.mkdir(parents=True, exist_ok=True)
    try:
        # grid jobs start together: one builds while the others wait on the lock, then they load its library
        with open(folder / "build.lock", "w") as lock, contextlib.redirect_stdout(io.StringIO()):
            fcntl.flock(lock, fcntl.LOCK_EX)
            return load(name="pcb_depthwise", sources=[str(SOURCE)], extra_cxx_cflags=["-O3", "-fopenmp-simd"],
                        build_directory=str(folder)).pcb_depthwise_conv
    except Exception as exc:  # the compiler's or loader's own error, whatever its type: training goes on slower
        log.warning("the PCB depthwise kernel could not be built in %s (%s): Paddle's own depthwise convolution "
                    "is used, about 3× slower", folder, exc)
        return None


class FastDepthwiseConv2D(nn.Conv2D):
    """An ``nn.Conv2D`` with ``groups == channels`` computed by ``pcb_depthwise_conv``: same parameters, outputs and
    gradients."""

    def forward(self, x):
        out = depthwise_op()(x, self.weight, self._stride[0], self._padding)
        return out if self.bias is None else out + self.bias.reshape([1, -1, 1, 1])


def use_fast_depthwise(model: nn.Layer) -> None:
    """On the CPU, turn every depthwise convolution of ``model`` the kernel covers (NCHW, square kernel, one stride,
    zero padding given as one int, no dilation) into a ``FastDepthwiseConv2D``; state-dict names stay as they are."""
    if not paddle.device.get_device().startswith("cpu") or depthwise_op() is None:
        return
    for layer in model.sublayers():
        if (type(layer) is nn.Conv2D and layer._groups == layer._in_channels == layer._out_channels > 1
                and layer._data_format == "NCHW" and layer._padding_mode == "zeros"
                and isinstance(layer._padding, int) and layer._dilation == [1, 1]
                and layer._kernel_size[0] == layer._kernel_size[1] and layer._stride[0] == layer._stride[1]):
            layer.__class__ = FastDepthwiseConv2D
