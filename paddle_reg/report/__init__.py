"""Comparison reports of the regimes, as self-contained HTML and PDF."""
from paddle_reg.report.build import write_task_report

__all__ = ["write_task_report"]
