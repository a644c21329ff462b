"""Figures of a report, returned as PNG bytes (embedded in the HTML and the PDF)."""
from __future__ import annotations

import io
from dataclasses import dataclass

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from paddle_reg.report import fonts  # noqa: E402
from paddle_reg.report.collect import LOG10_BINS, RegimeSummary  # noqa: E402

REGIME_COLORS = {"none": "#4d4d4d", "dropout": "#1f77b4", "weight_decay": "#d62728", "both": "#2ca02c"}
OTHER_COLORS = ("#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f", "#1f77b4", "#d62728")
BAND = "band: ±1 std over seeds"


@dataclass(frozen=True)
class Panel:
    """One learning-curve panel: ``scale × history[key]`` per epoch (``minus``: a second key subtracted)."""

    key: str
    title: str
    ylabel: str
    scale: float = 1.0
    minus: str | None = None

    def value(self, record: dict) -> float | None:
        if self.key not in record or (self.minus and self.minus not in record):
            return None
        return self.scale * (record[self.key] - (record[self.minus] if self.minus else 0.0))


def colors(labels: list[str]) -> dict[str, str]:
    others = iter(OTHER_COLORS * 4)
    return {label: REGIME_COLORS.get(label) or next(others) for label in labels}


def _setup_fonts() -> None:
    plt.rcParams["font.family"] = ["DejaVu Sans", fonts.use_in_matplotlib()]  # glyph-wise fallback for Chinese


def _png(fig) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=120)
    plt.close(fig)
    return buffer.getvalue()


def _curve(runs, panel: Panel) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean and sample std over the runs that reached each epoch."""
    longest = max(len(r.history) for r in runs)
    epochs, means, stds = [], [], []
    for i in range(longest):
        values = [v for r in runs if len(r.history) > i and (v := panel.value(r.history[i])) is not None]
        if values:
            epochs.append(i + 1)
            means.append(np.mean(values))
            stds.append(np.std(values, ddof=1) if len(values) > 1 else 0.0)
    return np.array(epochs), np.array(means), np.array(stds)


def learning_curves(summaries: list[RegimeSummary], panels: list[Panel]) -> bytes | None:
    """One panel per curve, one line per arm: the mean over seeds with a ±1 std band."""
    panels = [p for p in panels if any(p.value(h) is not None for s in summaries for r in s.runs for h in r.history)]
    if not panels:
        return None
    _setup_fonts()
    palette = colors([s.regime for s in summaries])
    columns = min(len(panels), 2)
    rows = -(-len(panels) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(10, 3.6 * rows), constrained_layout=True, squeeze=False)
    for ax, panel in zip(axes.flat, panels):
        for summary in summaries:
            runs = [r for r in summary.runs if r.history]
            if not runs:
                continue
            epochs, mean, std = _curve(runs, panel)
            if not len(epochs):
                continue
            color = palette[summary.regime]
            ax.plot(epochs, mean, marker="o", markersize=3, color=color, label=f"{summary.regime} (n={len(runs)})")
            ax.fill_between(epochs, mean - std, mean + std, color=color, alpha=0.18, linewidth=0)
        ax.set_title(panel.title)
        ax.set_xlabel("epoch")
        ax.set_ylabel(panel.ylabel)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(panels):]:
        ax.set_visible(False)
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=min(len(labels), 5), fontsize=8,
               title=f"arm ({BAND})", title_fontsize=8)
    return _png(fig)


def weight_distribution(summaries: list[RegimeSummary]) -> bytes | None:
    """Left: histogram of log10 |w| pooled over seeds; right: ‖W‖₂ per run."""
    with_weights = [s for s in summaries if any(r.weights for r in s.runs)]
    if not with_weights:
        return None
    _setup_fonts()
    palette = colors([s.regime for s in summaries])
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.8), constrained_layout=True,
                                      gridspec_kw={"width_ratios": [1.6, 1]})
    centers = (LOG10_BINS[:-1] + LOG10_BINS[1:]) / 2
    for i, summary in enumerate(with_weights):
        runs = [r.weights for r in summary.runs if r.weights]
        counts = np.sum([w.log10_hist for w in runs], axis=0)
        left.step(centers, 100.0 * counts / counts.sum(), where="mid", color=palette[summary.regime],
                  label=f"{summary.regime} (n={len(runs)})")
        norms = [w.l2 for w in runs]
        right.scatter([i] * len(norms), norms, color=palette[summary.regime], s=18, zorder=3)
        right.errorbar([i], [np.mean(norms)], yerr=[np.std(norms, ddof=1) if len(norms) > 1 else 0.0],
                       color="black", marker="_", markersize=16, capsize=4, zorder=4)
    left.axvline(-3, color="#999", linestyle=":", linewidth=1)
    left.text(-3.05, left.get_ylim()[1] * 0.95, "|w| = 1e-3", ha="right", va="top", fontsize=7, color="#666")
    left.set_title("distribution of |w| (weights with ndim ≥ 2, best checkpoint)")
    left.set_xlabel("log10 |w|  (values ≤ 1e-8 in the first bin)")
    left.set_ylabel("share of weights (%)")
    left.legend(fontsize=8)
    left.grid(alpha=0.3)
    right.set_title("L2 norm of all weights, per run")
    right.set_ylabel("‖W‖₂")
    right.set_xticks(range(len(with_weights)), [s.regime for s in with_weights], rotation=30, ha="right", fontsize=8)
    right.grid(alpha=0.3, axis="y")
    return _png(fig)


def bar_charts(summaries: list[RegimeSummary], charts: list[tuple[str, str, str]]) -> bytes | None:
    """Side by side, one panel per ``(metric, title, ylabel)``: mean ± std per arm, each run a dot."""
    charts = [c for c in charts if any(s.values(c[0]) for s in summaries)]
    if not charts:
        return None
    _setup_fonts()
    palette = colors([s.regime for s in summaries])
    width = max(4.5, 0.55 * len(summaries) + 2)
    fig, axes = plt.subplots(1, len(charts), figsize=(min(10.0, width * len(charts)), 3.3), constrained_layout=True,
                             squeeze=False)
    for ax, (metric, title, ylabel) in zip(axes.flat, charts):
        shown = [s for s in summaries if s.values(metric)]
        for i, summary in enumerate(shown):
            values = summary.values(metric)
            ax.bar(i, np.mean(values), color=palette[summary.regime], alpha=0.75,
                   yerr=np.std(values, ddof=1) if len(values) > 1 else 0.0, capsize=4)
            ax.scatter([i] * len(values), values, color="black", s=8, zorder=3)
        tilt = len(shown) > 3
        ax.set_xticks(range(len(shown)), [s.regime for s in shown], rotation=30 if tilt else 0,
                      ha="right" if tilt else "center", fontsize=8)
        ax.set_title(title, fontsize=10)
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3, axis="y")
    return _png(fig)


def heatmaps(matrices: dict[str, np.ndarray], labels: list[str], title: str) -> bytes:
    """One row-normalized confusion matrix (% of each true class) per arm, with the class names on the axes."""
    _setup_fonts()
    columns = min(len(matrices), 2)
    rows = -(-len(matrices) // columns)
    size = 4.2 + 0.12 * len(labels)
    fig, axes = plt.subplots(rows, columns, figsize=(size * columns, size * rows), constrained_layout=True,
                             squeeze=False)
    for ax, (arm, matrix) in zip(axes.flat, matrices.items()):
        totals = matrix.sum(axis=1, keepdims=True)
        share = 100.0 * matrix / np.where(totals == 0, 1, totals)
        image = ax.imshow(share, cmap="Blues", vmin=0, vmax=100)
        ax.set_title(f"{arm}: % of each true class")
        ax.set_xticks(range(len(labels)), labels, rotation=60, ha="right", fontsize=8)
        ax.set_yticks(range(len(labels)), labels, fontsize=8)
        ax.set_xlabel("predicted class")
        ax.set_ylabel("true class")
        if len(labels) <= 16:
            for (i, j), value in np.ndenumerate(share):
                if value >= 1:
                    ax.text(j, i, f"{value:.0f}", ha="center", va="center", fontsize=6,
                            color="white" if value > 60 else "black")
    for ax in list(axes.flat)[len(matrices):]:
        ax.set_visible(False)
    fig.colorbar(image, ax=axes, shrink=0.6, label="% of the true class (mean over seeds)")
    fig.suptitle(title)
    return _png(fig)


def series_plot(x_label: str, series: dict[str, tuple[list[float], list[float], list[float]]], title: str,
                ylabel: str, log_x: bool = False, ticks: list[float] | None = None, log_y: bool = False,
                legend_title: str = "error bars: ±1 std over seeds") -> bytes:
    """Lines of mean ± std against a swept value (``series``: name → (x, mean, std)); ``ticks`` at those x values."""
    _setup_fonts()
    palette = colors(list(series))
    fig, ax = plt.subplots(figsize=(7, 3.6), constrained_layout=True)
    for name, (x, mean, std) in series.items():
        x, mean, std = map(np.asarray, (x, mean, std))
        ax.errorbar(x, mean, yerr=std, marker="o", markersize=4, capsize=3, color=palette[name], label=name)
    if log_x:
        ax.set_xscale("symlog", linthresh=min(v for s in series.values() for v in s[0] if v > 0))
    if log_y:
        ax.set_yscale("log")
    if ticks:
        ax.set_xticks(ticks, [f"{t:g}" for t in ticks])
        ax.xaxis.set_minor_locator(plt.NullLocator())
    ax.set_title(title)
    ax.set_xlabel(x_label)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, title=legend_title, title_fontsize=7)
    return _png(fig)


@dataclass
class Heatmap:
    """One panel of ``grid_heatmaps``: ``values[i][j]`` for row i and column j (NaN: not measured), and markers at
    (row, fractional column) positions, e.g. the best setting found in each row (drawn in the cell's lower part)."""

    title: str
    row_label: str
    column_label: str
    rows: list[str]
    columns: list[str]
    values: np.ndarray
    markers: list[tuple[float, float]]


def grid_heatmaps(panels: list[Heatmap], colorbar: str) -> bytes:
    """Side by side, one annotated heatmap per panel (a shared colour scale), its markers as black dots."""
    _setup_fonts()
    finite = np.concatenate([p.values[np.isfinite(p.values)] for p in panels])
    low, high = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    height = 1.6 + 0.55 * max(len(p.rows) for p in panels)
    fig, axes = plt.subplots(1, len(panels), figsize=(1.0 + 5.2 * len(panels), height), constrained_layout=True,
                             squeeze=False)
    for ax, panel in zip(axes.flat, panels):
        image = ax.imshow(panel.values, cmap="viridis_r", vmin=low, vmax=high, aspect="auto", origin="lower")
        for (i, j), value in np.ndenumerate(panel.values):
            if np.isfinite(value):
                ax.text(j, i, f"{value:.3g}", ha="center", va="center", fontsize=7,
                        color="white" if value > (low + high) / 2 else "black")
        if panel.markers:
            rows, columns = zip(*panel.markers)
            ax.scatter(columns, np.asarray(rows) - 0.32, s=12, color="black", edgecolors="white", linewidths=0.5,
                       zorder=3)  # below the cell's number
        ax.set_xticks(range(len(panel.columns)), panel.columns, rotation=45, ha="right", fontsize=8)
        ax.set_yticks(range(len(panel.rows)), panel.rows, fontsize=8)
        ax.set_xlabel(panel.column_label)
        ax.set_ylabel(panel.row_label)
        ax.set_title(panel.title, fontsize=10)
    fig.colorbar(image, ax=axes, shrink=0.8, label=colorbar)
    return _png(fig)


def value_bars(panels: list[tuple[str, str, dict[str, list[float]]]]) -> bytes | None:
    """Side by side, one panel per ``(title, ylabel, {arm: values})``: mean ± std per arm, each value a dot."""
    panels = [p for p in panels if any(p[2].values())]
    if not panels:
        return None
    _setup_fonts()
    arms = list(dict.fromkeys(arm for _, _, values in panels for arm in values))
    palette = colors(arms)
    fig, axes = plt.subplots(1, len(panels), figsize=(min(10.0, 4.8 * len(panels)), 3.4), constrained_layout=True,
                             squeeze=False)
    for ax, (title, ylabel, values) in zip(axes.flat, panels):
        shown = [arm for arm in values if values[arm]]
        for i, arm in enumerate(shown):
            data = values[arm]
            ax.bar(i, np.mean(data), color=palette[arm], alpha=0.75,
                   yerr=np.std(data, ddof=1) if len(data) > 1 else 0.0, capsize=4)
            ax.scatter([i] * len(data), data, color="black", s=8, zorder=3)
        ax.set_xticks(range(len(shown)), shown, rotation=30, ha="right", fontsize=8)
        ax.set_title(title, fontsize=10)
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3, axis="y")
    return _png(fig)


@dataclass(frozen=True)
class ForestPanel:
    """One place of the index's forest plot: each arm's Δ vs `none` on the place's headline metric with its 95 % CI."""

    title: str
    xlabel: str
    better: str  # "lower" | "higher" | "neither"
    rows: tuple[tuple[str, float, float | None, float | None, str], ...]  # (arm, Δ, low, high, "good" | "bad" | "")


MARK_COLORS = {"good": "#1b7f3b", "bad": "#b00020", "": "#4d4d4d"}


def forest(panels: list[ForestPanel]) -> bytes | None:
    """Stacked panels, one per place, each with its own Δ axis: a dot per arm, its CI as a bar, 0 as a line."""
    panels = [p for p in panels if p.rows]
    if not panels:
        return None
    _setup_fonts()
    heights = [0.9 + 0.28 * len(p.rows) for p in panels]
    fig, axes = plt.subplots(len(panels), 1, figsize=(8.5, sum(heights)), constrained_layout=True, squeeze=False,
                             gridspec_kw={"height_ratios": heights})
    for ax, panel in zip(axes[:, 0], panels):
        for y, (arm, diff, low, high, mark) in enumerate(reversed(panel.rows)):
            color = MARK_COLORS[mark]
            if low is not None:
                ax.plot([low, high], [y, y], color=color, linewidth=2, solid_capstyle="butt")
            ax.plot([diff], [y], "o", color=color, markersize=5)
        ax.axvline(0, color="#999", linewidth=1, linestyle=":")
        ax.set_yticks(range(len(panel.rows)), [row[0] for row in reversed(panel.rows)], fontsize=8)
        ax.set_ylim(-0.6, len(panel.rows) - 0.4)
        arrow = {"lower": "  (← better)", "higher": "  (better →)"}.get(panel.better, "")
        ax.set_title(panel.title, fontsize=9, loc="left")
        ax.set_xlabel(panel.xlabel + arrow, fontsize=8)
        ax.tick_params(axis="x", labelsize=8)
        ax.grid(alpha=0.3, axis="x")
    return _png(fig)


def _field(items: list, key: str) -> np.ndarray:
    """``item.<key>`` of each item, NaN where the item or its value is missing (a gap in the line)."""
    return np.array([np.nan if item is None or getattr(item, key) is None else getattr(item, key) for item in items],
                    dtype=float)


def size_curves(points: dict, arms: list[str], sizes: list[int], delta: float, label: str, unit: str,
                delta_unit: str) -> bytes:
    """A learning curve against the training-set size (log x): left the metric per arm (band: the 95 % t-interval of
    the mean over seeds), right each arm − none (band: its 95 % interval, none without spread; grey: the ±δ of
    equivalence). ``points``: arm → size → a ``curves.Point`` (``mean``, ``low``, ``high``, ``comparison``: a
    ``compare.Comparison``)."""
    _setup_fonts()
    palette = colors(arms)
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.9), constrained_layout=True)
    for arm in arms:
        by_size = [points[arm][size] for size in sizes]
        left.plot(sizes, _field(by_size, "mean"), marker="o", markersize=4, color=palette[arm], label=arm)
        left.fill_between(sizes, _field(by_size, "low"), _field(by_size, "high"), color=palette[arm], alpha=0.18,
                          linewidth=0)
        compared = [p.comparison for p in by_size]
        if any(compared):
            right.plot(sizes, _field(compared, "diff"), marker="o", markersize=4, color=palette[arm], label=arm)
            right.fill_between(sizes, _field(compared, "low"), _field(compared, "high"), color=palette[arm],
                               alpha=0.18, linewidth=0)
    right.axhline(0.0, color=palette.get("none", "#4d4d4d"), linewidth=1)
    right.axhspan(-delta, delta, color="#999", alpha=0.15, linewidth=0, label=f"±δ = {delta:g} {delta_unit}")
    for ax, title, ylabel in ((left, label, f"{label} ({unit})" if unit else label),
                              (right, f"{label}: arm − none", f"Δ ({delta_unit})" if delta_unit else "Δ")):
        ax.set_xscale("log")
        ax.set_xticks(sizes, [f"{s:,}" for s in sizes], fontsize=8)
        ax.minorticks_off()
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("training-set size (log scale)")
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    return _png(fig)
