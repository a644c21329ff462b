"""Task registry: each task module exposes a ``TASK`` object (see ``paddle_reg.task_api.Task``)."""
import importlib

from paddle_reg.errors import UserError
from paddle_reg.task_api import Task

TASK_MODULES = {"mnist": "paddle_reg.tasks.mnist", "news": "paddle_reg.tasks.news", "pcb": "paddle_reg.tasks.pcb"}


def get_task(name: str) -> Task:
    if name not in TASK_MODULES:
        raise UserError(f"unknown task '{name}': choose one of {', '.join(sorted(TASK_MODULES))} (task=NAME)")
    return importlib.import_module(TASK_MODULES[name]).TASK
