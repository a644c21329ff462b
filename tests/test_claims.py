"""The claims shipped in the package match ../shared/claims.md; every claim has a place or a reason."""
from __future__ import annotations

from pathlib import Path

import pytest
from conftest import REPO

from paddle_reg.report import verdicts

CLAIMS_MD = REPO.parent / "shared" / "claims.md"


def markdown_rows(path: Path) -> list[list[str]]:
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("| ") and not line.startswith(("| id ", "| --- ")):
            rows.append([cell.strip() for cell in line.strip().strip("|").split(" | ")])
    return rows


@pytest.mark.skipif(not CLAIMS_MD.is_file(), reason="../shared/claims.md is not beside this checkout")
def test_shipped_claims_match_claims_md():
    shipped = verdicts.claims()
    expected = [[c["id"], c["source"], c["claim"], c["setting"]] for c in shipped["experiment_claims"]] + \
               [[c["id"], c["source"], c["claim"]] for c in shipped["fact_claims"]]
    assert markdown_rows(CLAIMS_MD) == expected


def test_every_experiment_claim_has_a_primary_place_or_a_reason():
    experiments, tasks = REPO / "configs" / "experiment", REPO / "configs" / "task"
    for entry in verdicts.claims()["experiment_claims"]:
        reasons = [key for key in ("out_of_scope", "not_measured") if entry.get(key)]
        if reasons:
            assert len(reasons) == 1 and "primary" not in entry and "benchmark" not in entry, entry["id"]
            continue
        if entry.get("benchmark"):
            assert (REPO / "benchmarks" / f"{entry['benchmark']}.py").is_file(), entry["id"]
            assert entry["id"] in verdicts.BENCHMARK_EVALUATORS, entry["id"]
            continue
        for place in [entry["primary"], *entry.get("replications", [])]:
            kind, _, name = place.rpartition("/")
            assert (experiments / f"{name}.yaml").is_file() if kind == "claims" else (tasks / f"{place}.yaml").is_file(), \
                (entry["id"], place)
        assert entry["primary"] not in entry.get("replications", []), entry["id"]
        assert entry["id"] in verdicts.EVALUATORS and entry.get("parts"), entry["id"]
    assert [c["id"] for c in verdicts.claims()["fact_claims"]] == [f"F{i}" for i in range(1, 10)]
