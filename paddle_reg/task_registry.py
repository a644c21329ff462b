"""Finding a task by name: the built-in ones and those packages plug in through the entry-point group ``paddle_reg.tasks``.

A plug-in package declares ``<name> = <module>:<Task instance>`` in that group and ships its Hydra configs in a
``configs/`` folder of its top-level package (``configs/task/<name>.yaml``, ``configs/task_profile/<name>/...``);
``plugin_config_dirs`` hands those folders to Hydra's ``hydra.searchpath`` (``configs/config.yaml``).
"""
from __future__ import annotations

import importlib.util
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path

from paddle_reg.errors import UserError
from paddle_reg.task_api import Task

GROUP = "paddle_reg.tasks"
BUILT_IN = {name: EntryPoint(name, f"paddle_reg.tasks.{name}:TASK", GROUP)
            for name in ("mnist", "mnist_cnn", "mnist_resnet", "news", "pcb")}


def plugged_in() -> dict[str, EntryPoint]:
    """The installed packages' tasks; a built-in name cannot be taken over."""
    return {entry.name: entry for entry in entry_points(group=GROUP) if entry.name not in BUILT_IN}


def get_task(name: str) -> Task:
    entry = BUILT_IN.get(name) or plugged_in().get(name)
    if entry is None:
        plugins = sorted(plugged_in())
        raise UserError(f"unknown task '{name}': choose one of {', '.join([*BUILT_IN, *plugins])} (task=NAME; built in: "
                        f"{', '.join(BUILT_IN)}; plugged in through the entry-point group {GROUP}: "
                        f"{', '.join(plugins) or 'none'})")
    try:
        task = entry.load()
    except Exception as exc:  # noqa: BLE001  (a plug-in's import error, whatever it is, stops the command here)
        raise UserError(f"task {name}: its entry point {entry.value} does not load: {type(exc).__name__}: {exc}") from None
    if not isinstance(task, Task):
        raise UserError(f"task {name}: its entry point {entry.value} names a {type(task).__name__}, not an instance of "
                        f"paddle_reg.task_api.Task: point it at one (module:TASK with TASK = MyTask())")
    missing = [member for member in Task.__annotations__ if not hasattr(task, member)]
    if missing:
        raise UserError(f"task {name}: {type(task).__name__} does not set {', '.join(missing)} "
                        f"(see paddle_reg.task_api.Task)")
    return task


def plugin_config_dirs() -> list[str]:
    """``file://`` search-path entries of the plugged-in tasks' ``configs/`` folders (their packages not imported)."""
    dirs = []
    for entry in plugged_in().values():
        spec = importlib.util.find_spec(entry.module.partition(".")[0])
        package_dirs = spec.submodule_search_locations if spec else None
        dirs += [Path(folder) / "configs" for folder in package_dirs or () if (Path(folder) / "configs").is_dir()]
    return [f"file://{folder}" for folder in sorted(set(dirs))]
