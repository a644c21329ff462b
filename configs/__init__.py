"""The Hydra configs (``config.yaml`` and its groups). Importing this package, which Hydra does before it reads
them, stores the config ``regularizers`` (each ``reg.<name>`` default, from ``paddle_reg.registry``)."""
from paddle_reg.registry import register_config

register_config()
