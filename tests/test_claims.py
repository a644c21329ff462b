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


def test_every_experiment_claim_has_an_experiment_or_a_reason():
    experiments = REPO / "configs" / "experiment"
    for entry in verdicts.claims()["experiment_claims"]:
        if entry.get("out_of_scope"):
            assert "experiment" not in entry, entry["id"]
            continue
        if entry.get("benchmark"):
            assert (REPO / "benchmarks" / f"{entry['benchmark']}.py").is_file(), entry["id"]
            assert entry["id"] in verdicts.BENCHMARK_EVALUATORS, entry["id"]
            continue
        assert (experiments / f"{entry['experiment']}.yaml").is_file(), entry["id"]
        assert entry["id"] in verdicts.EVALUATORS, entry["id"]
    assert [c["id"] for c in verdicts.claims()["fact_claims"]] == [f"F{i}" for i in range(1, 10)]
