"""The grouped-decay optimizer factory: which parameters decay, and coupled vs decoupled updates."""
from __future__ import annotations

import numpy as np
import paddle
import pytest
from omegaconf import OmegaConf

from paddle_reg.optim import build_optimizer, param_groups_weight_decay
from paddle_reg.tasks.mnist import MLP


def optim_cfg(**overrides):
    base = {"name": "sgd", "lr": 0.1, "momentum": 0.9, "weight_decay": 0.01, "decay_mode": "l2", "schedule": "constant"}
    return OmegaConf.create({**base, **overrides})


class NormNet(paddle.nn.Layer):
    def __init__(self):
        super().__init__()
        self.embed = paddle.nn.Embedding(20, 8)
        self.fc = paddle.nn.Linear(8, 8)
        self.bn = paddle.nn.BatchNorm1D(8)
        self.ln = paddle.nn.LayerNorm(8)
        self.head = paddle.nn.Linear(8, 3)

    def forward(self, ids):
        return self.head(self.ln(self.bn(self.fc(self.embed(ids).mean(axis=1)))))


def test_mlp_weights_decay_biases_do_not():
    _, _, groups = param_groups_weight_decay(MLP(784, [16, 16], 10, 0.0, 0.5))
    assert groups.decay == ["net.0.weight", "net.3.weight", "net.6.weight"]
    assert groups.no_decay == ["net.0.bias", "net.3.bias", "net.6.bias"]


def test_norm_parameters_never_decay_embedding_does():
    _, _, groups = param_groups_weight_decay(NormNet())
    assert groups.decay == ["embed.weight", "fc.weight", "head.weight"]
    assert set(groups.no_decay) == {"fc.bias", "bn.weight", "bn.bias", "ln.weight", "ln.bias", "head.bias"}


@pytest.mark.parametrize("mode", ["l2", "decoupled"])
@pytest.mark.parametrize("name", ["sgd", "momentum", "adam", "adamw"])
def test_with_zero_gradient_only_the_decay_group_moves(name, mode):
    paddle.seed(0)
    model = MLP(4, [3], 2, 0.0, 0.0)
    before = {n: p.numpy().copy() for n, p in model.named_parameters()}
    optimizer, _, _ = build_optimizer(model, optim_cfg(name=name, decay_mode=mode), 1, 1)
    (model(paddle.ones([2, 4])).sum() * 0.0).backward()
    optimizer.step()
    for n, p in model.named_parameters():
        moved = not np.allclose(p.numpy(), before[n])
        assert moved == n.endswith("weight"), n


def one_step(name: str, mode: str) -> dict:
    paddle.seed(0)
    model = MLP(4, [3], 2, 0.0, 0.0)
    optimizer, _, _ = build_optimizer(model, optim_cfg(name=name, decay_mode=mode, weight_decay=0.05), 1, 1)
    x = paddle.to_tensor(np.linspace(-1, 1, 8, dtype="float32").reshape(2, 4))
    (model(x) ** 2).mean().backward()
    optimizer.step()
    return {n: p.numpy() for n, p in model.named_parameters()}


def test_sgd_coupled_l2_equals_decoupled_decay():
    coupled, decoupled = one_step("sgd", "l2"), one_step("sgd", "decoupled")
    for n in coupled:
        np.testing.assert_allclose(coupled[n], decoupled[n], rtol=1e-6, atol=1e-7)


def test_adam_with_l2_differs_from_adamw():
    coupled, decoupled = one_step("adam", "l2"), one_step("adam", "decoupled")
    assert not np.allclose(coupled["net.0.weight"], decoupled["net.0.weight"], atol=1e-6)
    np.testing.assert_allclose(one_step("adamw", "decoupled")["net.0.weight"], decoupled["net.0.weight"], rtol=1e-6)
