"""Figures of a task report, returned as PNG bytes (embedded in the HTML and the PDF)."""
from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from paddle_reg.report.collect import RegimeSummary  # noqa: E402

REGIME_COLORS = {"none": "#4d4d4d", "dropout": "#1f77b4", "weight_decay": "#d62728", "both": "#2ca02c"}


def _curve(runs, key: str, scale: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean and sample std over the runs that reached each epoch."""
    longest = max(len(r.history) for r in runs)
    epochs, means, stds = [], [], []
    for i in range(longest):
        values = [scale * r.history[i][key] for r in runs if len(r.history) > i]
        epochs.append(i + 1)
        means.append(np.mean(values))
        stds.append(np.std(values, ddof=1) if len(values) > 1 else 0.0)
    return np.array(epochs), np.array(means), np.array(stds)


def learning_curves(summaries: list[RegimeSummary]) -> bytes:
    panels = (("train_loss", 1.0, "training loss (cross-entropy, train mode)", "loss"),
              ("val_error", 100.0, "validation error", "error (%)"))
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8), constrained_layout=True)
    for ax, (key, scale, title, ylabel) in zip(axes, panels):
        for summary in summaries:
            runs = [r for r in summary.runs if r.history]
            if not runs:
                continue
            epochs, mean, std = _curve(runs, key, scale)
            color = REGIME_COLORS.get(summary.regime)
            ax.plot(epochs, mean, marker="o", markersize=3, color=color, label=f"{summary.regime} (n={len(runs)})")
            ax.fill_between(epochs, mean - std, mean + std, color=color, alpha=0.2, linewidth=0)
        ax.set_title(title)
        ax.set_xlabel("epoch")
        ax.set_ylabel(ylabel)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
    axes[1].legend(title="regime (band: ±1 std over seeds)", fontsize=8, title_fontsize=8)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=130)
    plt.close(fig)
    return buffer.getvalue()
