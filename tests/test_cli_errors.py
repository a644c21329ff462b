"""Bad input: one line on stderr naming the field or file and the fix, exit code 2, nothing recorded."""
from __future__ import annotations

import gzip

import pytest

from conftest import TINY, run_cli

BAD_CONFIG = [
    ("model.dropout.hidden=1.0", "model.dropout.hidden=1.0 must be in [0, 1)"),
    ("model.dropout.input=-0.1", "model.dropout.input=-0.1 must be in [0, 1)"),
    ("optim.weight_decay=-1e-4", "optim.weight_decay=-0.0001 must be >= 0"),
    ("train.epochs=0", "train.epochs=0 must be a positive integer"),
    ("train.batch_size=-8", "train.batch_size=-8 must be a positive integer"),
    ("task=bogus", "Could not find 'task/bogus'"),
    ("regime=bogus", "regime bogus does not apply to task mnist: choose from none, dropout, weight_decay, both, "),
    ("regimes=[none,bogus]", "regime bogus does not apply to task mnist: choose from none, dropout, weight_decay, both"),
    ("regime=droppath", "regime droppath does not apply to task mnist: choose from none, dropout, weight_decay, both, "),
    ("regime=dropout+spatial", "regime dropout+spatial does not apply to task mnist (spatial): choose from none, "),
    ("regimes=[none,mixup+cutmix]", "regime mixup+cutmix combines mixup and cutmix, which exclude each other: keep one"),
    ("model.hidden=[0]", "model.hidden=[0] must be a list of positive integers: set e.g. model.hidden=[512,512]"),
    ("regime=early_stop reg.early_stop.metric=f1 reg.early_stop.mode=max",
     "reg.early_stop.metric=f1 is not a validation metric of task mnist: choose one of loss, accuracy, error"),
    ("optim.decay_mode=l1", "optim.decay_mode=l1 is unknown: choose one of coupled, decoupled"),
    ("regime=l1 reg.l1=-1", "reg.l1=-1 must be > 0"),
    ("regime=cutout reg.cutout.size=0", "reg.cutout.size=0 must be a positive integer"),
    ("regime=early_stop reg.early_stop.metric=loss", "reg.early_stop.metric=loss needs its direction: set "
                                                     "reg.early_stop.mode=min or max"),
    ("model.dropout_position=before_fc", "model.dropout_position=before_fc is unknown: choose one of after_relu, before_relu"),
    ("+reg.bogus=1", "reg.bogus is unknown: choose from dropconnect, gaussian, spatial"),
    ("regime=l1 reg.l1=null", "regime l1 needs a value for reg.l1, which is null: set e.g. reg.l1=1e-05"),
    ("optim.schedule.name=step", "optim.schedule.name=step is unknown: choose one of constant, cosine, piecewise"),
    ("optim.schedule.milestones=[0]", "optim.schedule.milestones=[0] must be epochs >= 1"),
    ("optim=momentum optim.schedule.momentum_warmup_steps=-1",
     "optim.schedule.momentum_warmup_steps=-1 must be an integer >= 0"),
    ("optim.schedule.momentum_warmup_steps=100", "optim.schedule.momentum_warmup_steps=100 warms up the momentum of "
                                                 "optim.name=momentum, not adam: set optim=momentum or"),
    ("+optim.clip_norm=0", "optim.clip_norm=0 must be > 0"),
    ("optim.no_decay=['(']", "optim.no_decay holds '(', not a regular expression"),
    ("optim.schedule=cosine", "optim.schedule=cosine must be a block with name: set e.g. optim.schedule={name:cosine}"),
    ("profile=bogus", "Could not find 'profile/bogus'"),
    ("optim.name=rmsprop", "optim.name=rmsprop is unknown: choose one of sgd, momentum, adam, adamw"),
    ("train.batch_size=100000", "train.batch_size=100000 is larger than the"),
    ("published=[{regime:bogus,value:1.25,source:x}]",
     "published[0].regime=bogus is not a regime of task mnist: choose from none, dropout, weight_decay, both, "),
    ("published=[{regime:dropout,value:1.25}]", "published[0].source is missing: cite where the figure is published"),
]


def assert_one_line_error(result, expected: str, tmp_path) -> None:
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2, result.stderr
    assert len(lines) == 1, result.stderr
    assert expected in lines[0]
    assert "Traceback" not in result.stderr + result.stdout
    finished = [p for p in (tmp_path / "runs").rglob("final.json")]
    assert finished == [], "a run was recorded as finished"


@pytest.mark.parametrize("override,expected", BAD_CONFIG, ids=[o for o, _ in BAD_CONFIG])
def test_bad_config_value(override, expected, mnist_root, tmp_path):
    result = run_cli(TINY + ["regimes=[none]", *override.split()], tmp_path, mnist_root)
    assert_one_line_error(result, expected, tmp_path)


def test_missing_data_file_names_path_variable_and_source(tmp_path):
    empty = tmp_path / "nothing-here"
    result = run_cli(TINY, tmp_path, empty)
    assert_one_line_error(result, f"missing data file {empty}/mnist/train-images-idx3-ubyte.gz", tmp_path)
    assert "PADDLE_REG_DATA" in result.stderr and "https://" in result.stderr


@pytest.mark.parametrize("damage,expected", [
    (lambda raw: raw[: len(raw) // 2], "not a complete gzip file"),
    (lambda raw: gzip.compress(b"\x00\x00\x08\x99" + gzip.decompress(raw)[4:]), "IDX magic number is not 2051"),
    (lambda raw: gzip.compress(gzip.decompress(raw)[:-100]), "header says"),
], ids=["truncated-gzip", "wrong-magic", "short-payload"])
def test_corrupt_data_file(damage, expected, mnist_root, tmp_path):
    path = mnist_root / "mnist" / "train-images-idx3-ubyte.gz"
    path.write_bytes(damage(path.read_bytes()))
    result = run_cli(TINY, tmp_path, mnist_root)
    assert_one_line_error(result, f"corrupt data file {path}", tmp_path)
    assert expected in result.stderr


def test_help_lists_config_groups_and_the_registrys_regimes(tmp_path):
    from paddle_reg.registry import help_text

    result = run_cli(["--help"], tmp_path, None)
    assert result.returncode == 0
    assert result.stdout.startswith("python -m paddle_reg.run [-m] [group=option ...] [key=value ...]\n")
    assert "paddle_reg.tune" not in result.stdout  # tune's help is its own (configs/hydra/help/tune.yaml)
    for line in ("task: mnist, mnist_cnn, mnist_resnet, news, pcb", "profile: article, full, quick, smoke",
                 "optim: adam, adamw, momentum, sgd", "experiment: curve_mnist, curve_news, curve_pcb, e1, e10,"):
        assert line in result.stdout
    assert f"== Regimes ==\n{help_text()}\n" in result.stdout
