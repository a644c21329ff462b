"""paddle_reg: Dropout, weight decay and both, measured against an unregularized baseline in PaddlePaddle."""

__version__ = "0.1.0"

import warnings

# Paddle warns at import that ccache (for recompiling custom C++ ops) is missing; the suite's one op, the PCB
# depthwise kernel, is compiled once per machine and then loaded from its cache.
warnings.filterwarnings("ignore", message="No ccache found")
# With flush-to-zero on (paddle_reg.denormals), NumPy finds float subnormals compute as 0 and says so: that is the mode.
warnings.filterwarnings("ignore", message="The value of the smallest subnormal")
# Paddle's BatchNorm warns once per training process that it tracks running statistics: it always did, so say nothing.
warnings.filterwarnings("ignore", message="When training, we now always track")
