"""The built-in tasks, one module each with its ``TASK``; ``paddle_reg.task_registry`` finds them by name."""
