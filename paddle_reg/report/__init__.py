"""Comparison reports of the regimes and the claims' verdicts, and learning curves, as self-contained HTML and PDF."""
from paddle_reg.report.build import write_task_report
from paddle_reg.report.curves import write_curve_report
from paddle_reg.report.index import write_index

__all__ = ["write_curve_report", "write_index", "write_task_report"]
