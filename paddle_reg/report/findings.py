"""A report's key findings: a few sentences generated from its numbers, to be read before any table.

Which arm changes the headline metric against `none`, by how much, with its 95 % CI and Holm-adjusted p (the arms
are compared at once), which arms show no detectable change and how small a change the seeds could have shown,
the best arm, and the runs that did not finish. Each arm's sentence names its regime diagnosis (e.g.
"none: converged · overfits"), so a change measured before training converged reads as such.
"""
from __future__ import annotations

from paddle_reg.report.compare import holm_marks
from paddle_reg.report.evidence import Evidence
from paddle_reg.report.verdicts import unfinished, unit_of


def _state(ev: Evidence, arm: str) -> str:
    found = ev.diagnoses.get(arm)
    return f" ({arm}: {found.tag})" if found else ""


def key_findings(ev: Evidence) -> list[str]:
    if not ev.summaries:
        return ["No runs yet."]
    head, base = ev.headline, ev.base
    unit = unit_of(head)
    sentences = []
    if base is not None and head.name in base.stats:
        mean, std, n = base.stats[head.name]
        sentences.append(f"none reaches a {head.label} of {mean:.3g} ± {std:.2g}{' ' + head.unit if head.unit else ''} "
                         f"(mean ± std over {n} seeds){_state(ev, 'none')}.")
    comparisons = ev.versus_none(head.name)
    marks = holm_marks(comparisons, head.better)
    quiet = []
    for arm, c in sorted(comparisons.items(), key=lambda item: item[1].diff):
        mark, p = marks[arm]
        if c.identical:
            sentences.append(f"{arm} gives {'the same ' + head.label if c.diff == 0 else f'Δ = {c.diff:+.3g}{unit}'} "
                             f"in every seed (no spread){_state(ev, arm)}.")
        elif mark:
            verb = "raises" if c.diff > 0 else "lowers"
            sentences.append(f"{arm} {verb} it by {abs(c.diff):.3g}{unit} (95 % CI {c.low:+.3g} to {c.high:+.3g}, "
                             f"{c.analysis}, Holm-adjusted p = {p:.2g}): {'better' if mark == 'good' else 'worse'} "
                             f"than none{_state(ev, arm)}.")
        elif c.has_ci:
            quiet.append((arm, c))
    if quiet:
        detectable = [c.detectable for _, c in quiet if c.detectable is not None]
        size = f"; these seeds detect changes of about ±{max(detectable):.2g}{unit}" if detectable else ""
        arms = "; ".join(f"{a} {c.diff:+.2g}{unit}, 95 % CI {c.low:+.2g} to {c.high:+.2g}{_state(ev, a)}"
                         for a, c in quiet)
        sentences.append(f"No clear change for {arms}: not significant after Holm's correction{size}.")
    ranked = ev.ranked(head)
    if len(ranked) > 1:
        best = ranked[0]
        sentences.append(f"Best mean {head.label}: {best.regime} ({best.stats[head.name][0]:.3g}"
                         f"{' ' + head.unit if head.unit else ''}).")
    failed = unfinished(*ev.summaries)
    if failed:
        sentences.append(f"{len(failed)} run(s) did not finish: {'; '.join(failed)}.")
    return sentences
