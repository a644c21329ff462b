"""The suite's Hydra configs; ``hydra.searchpath`` in config.yaml adds the plugged-in tasks' config folders."""
from omegaconf import OmegaConf

from paddle_reg.task_registry import plugin_config_dirs

# Hydra imports this package to read config.yaml, before it resolves hydra.searchpath there.
OmegaConf.register_new_resolver("paddle_reg.plugin_config_dirs", plugin_config_dirs, replace=True)
