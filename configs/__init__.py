"""The Hydra configs (``config.yaml`` and its groups). Importing this package, which Hydra does before it reads
them, stores the config ``regularizers`` (each ``reg.<name>`` default, from ``paddle_reg.registry``) and registers
the resolver that hands ``hydra.searchpath`` the plugged-in tasks' config folders."""
from omegaconf import OmegaConf

from paddle_reg.registry import register_config
from paddle_reg.task_registry import plugin_config_dirs

register_config()
OmegaConf.register_new_resolver("paddle_reg.plugin_config_dirs", plugin_config_dirs, replace=True)
