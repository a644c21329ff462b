"""The news task through the real CLI on tiny generated THUCNews-format files."""
from __future__ import annotations

import gzip
import json

from conftest import TINY_NEWS, run_cli


def test_news_smoke_run_records_profile_metrics_and_confusion(news_root, tmp_path):
    args = TINY_NEWS + ["regimes=[none,both]", "train.epochs=2", f"paths.cache_dir={tmp_path / 'cache'}"]
    result = run_cli(args, tmp_path, news_root)
    assert result.returncode == 0, result.stderr
    assert "profile smoke" in result.stdout
    runs = sorted((tmp_path / "runs" / "news").glob("*/*/final.json"))
    assert [p.parent.parent.name for p in runs] == ["both", "none"]
    for final_path in runs:
        final = json.loads(final_path.read_text())
        assert final["test_accuracy"] > 0.6  # the keyword decides the class: it learned, chance is 1/3
        assert 0.0 < final["test_macro_f1"] <= 1.0 and "val_accuracy" in final
        assert final["details"]["test_confusion"]["labels"][0] == "财经 finance"
        config = json.loads((final_path.parent / "config.json").read_text())
        assert config["resolved"]["profile_name"] == "smoke"
        history = json.loads((final_path.parent / "history.json").read_text())
        assert len(history) == 2 and "val_macro_f1" in history[0]
    both = json.loads(next((tmp_path / "runs" / "news" / "both").glob("*/run.json")).read_text())
    assert both["decay_groups"]["decay"] == ["embedding.weight", "fc.weight", "classifier.weight"]  # claim E1


def test_bad_news_option_is_one_line(news_root, tmp_path):
    result = run_cli(TINY_NEWS + ["model.pooling=attention"], tmp_path, news_root)
    assert result.returncode == 2 and result.stderr.strip() == \
        "error: model.pooling=attention is unknown: choose one of mean, max"


def test_bad_data_line_is_one_line_naming_file_and_line(news_root, tmp_path):
    path = news_root / "thucnews" / "dev.txt.gz"
    path.write_bytes(gzip.compress("标题一\t0\n标题二 7\n".encode()))
    result = run_cli(TINY_NEWS + [f"paths.cache_dir={tmp_path / 'cache'}"], tmp_path, news_root)
    assert result.returncode == 2, result.stderr
    assert f"{path}:2:" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "runs").exists()


def test_news_extended_regimes_train(news_root, tmp_path):
    regimes = "[spatial,gaussian,dropconnect,l1,maxnorm,early_stop]"
    result = run_cli(TINY_NEWS + [f"regimes={regimes}", "train.epochs=1", f"paths.cache_dir={tmp_path / 'cache'}"],
                     tmp_path, news_root)
    assert result.returncode == 0, result.stderr
    finals = {p.parent.parent.name: json.loads(p.read_text()) for p in (tmp_path / "runs" / "news").glob("*/*/final.json")}
    assert sorted(finals) == sorted(regimes.strip("[]").split(","))
    assert all(final["test_accuracy"] > 0.0 for final in finals.values())
