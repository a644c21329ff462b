"""The grouped-decay optimizer factory: which parameters decay, and coupled vs decoupled updates."""
from __future__ import annotations

import numpy as np
import paddle
import pytest
from omegaconf import OmegaConf

from paddle_reg.optim import build_optimizer, lr_factor, momentum_at, param_groups_weight_decay
from paddle_reg.tasks.mnist import MLP


def optim_cfg(**overrides):
    base = {"name": "sgd", "lr": 0.1, "momentum": 0.9, "weight_decay": 0.01, "decay_mode": "coupled",
            "schedule": {"name": "constant"}}
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
    groups = param_groups_weight_decay(MLP(784, [16, 16], 10, 0.0, 0.5))
    assert groups.decay == ["net.0.weight", "net.3.weight", "net.6.weight"]
    assert groups.no_decay == ["net.0.bias", "net.3.bias", "net.6.bias"]


def test_norm_parameters_never_decay_embedding_does():
    groups = param_groups_weight_decay(NormNet())
    assert groups.decay == ["embed.weight", "fc.weight", "head.weight"]
    assert set(groups.no_decay) == {"fc.bias", "bn.weight", "bn.bias", "ln.weight", "ln.bias", "head.bias"}


@pytest.mark.parametrize("mode", ["coupled", "decoupled", "l2"])
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


def test_clip_norm_caps_each_gradient_and_l2_decay_is_added_after_clipping():
    paddle.seed(0)
    model = MLP(4, [3], 2, 0.0, 0.0)
    optimizer, _, _ = build_optimizer(model, optim_cfg(weight_decay=0.05, clip_norm=0.5), 1, 1)
    (model(paddle.ones([2, 4])) * 1000.0).sum().backward()
    before = {n: (p.numpy().copy(), p.grad.numpy().copy()) for n, p in model.named_parameters()}
    optimizer.step()
    for n, p in model.named_parameters():
        weight, grad = before[n]
        clipped = grad * min(1.0, 0.5 / np.linalg.norm(grad))
        decay = 0.05 * weight if n.endswith("weight") else 0.0
        np.testing.assert_allclose(p.numpy(), weight - 0.1 * (clipped + decay), rtol=1e-5, atol=1e-6, err_msg=n)


def test_sgd_coupled_l2_equals_decoupled_decay():
    coupled, decoupled = one_step("sgd", "coupled"), one_step("sgd", "decoupled")
    for n in coupled:
        np.testing.assert_allclose(coupled[n], decoupled[n], rtol=1e-6, atol=1e-7)


def test_adam_with_l2_differs_from_adamw():
    coupled, decoupled = one_step("adam", "coupled"), one_step("adam", "decoupled")
    assert not np.allclose(coupled["net.0.weight"], decoupled["net.0.weight"], atol=1e-6)
    np.testing.assert_allclose(one_step("adamw", "decoupled")["net.0.weight"], decoupled["net.0.weight"], rtol=1e-6)


def schedule(**overrides):
    return OmegaConf.create({"name": "constant", "warmup_steps": 0, "warmup_start": 0.0, "milestones": [],
                             "gamma": 0.1, **overrides})


def test_warmup_is_linear_from_warmup_start_then_cosine_reaches_zero():
    s = schedule(name="cosine", warmup_steps=10, warmup_start=0.1)
    factors = [lr_factor(step, s, steps_per_epoch=10, total_steps=110) for step in range(111)]
    np.testing.assert_allclose(factors[:11], [0.1 + 0.09 * i for i in range(10)] + [1.0], rtol=1e-9)
    np.testing.assert_allclose(factors[60], 0.5, rtol=1e-9)
    assert factors[110] == pytest.approx(0.0, abs=1e-12)
    assert all(a >= b for a, b in zip(factors[10:], factors[11:]))


def test_piecewise_multiplies_by_gamma_at_each_milestone_epoch():
    s = schedule(name="piecewise", milestones=[2, 4], gamma=0.5)
    assert [lr_factor(step, s, 5, 30) for step in (0, 9, 10, 19, 20, 29)] == [1.0, 1.0, 0.5, 0.5, 0.25, 0.25]


def test_scheduler_follows_the_schedule_step_by_step():
    model = MLP(4, [3], 2, 0.0, 0.0)
    cfg = optim_cfg(lr=0.2, schedule={"name": "piecewise", "warmup_steps": 2, "milestones": [1], "gamma": 0.1})
    optimizer, scheduler, _ = build_optimizer(model, cfg, steps_per_epoch=4, epochs=2)
    lrs = []
    for _ in range(6):
        lrs.append(optimizer.get_lr())
        scheduler.step()
    np.testing.assert_allclose(lrs, [0.0, 0.1, 0.2, 0.2, 0.02, 0.02], rtol=1e-6)
    assert build_optimizer(model, optim_cfg(), 4, 2)[1] is None  # constant without warmup: no scheduler


def momentum_cfg(lr_schedule: str = "constant"):
    """Momentum SGD whose μ warms up from 0.5 to 0.9 over 3 steps, the lr constant or cosine over 6 steps."""
    return optim_cfg(name="momentum", weight_decay=0.0,
                     schedule={"name": lr_schedule, "momentum_warmup_steps": 3, "momentum_warmup_start": 0.5})


def test_momentum_warmup_is_linear_from_its_start_then_the_momentum():
    cfg = optim_cfg(momentum=0.95, schedule={"momentum_warmup_steps": 4, "momentum_warmup_start": 0.5})
    np.testing.assert_allclose([momentum_at(step, cfg) for step in range(6)],
                               [0.5, 0.6125, 0.725, 0.8375, 0.95, 0.95], rtol=1e-12)


def momentum_steps(model, optimizer, scheduler, steps: int) -> None:
    x = paddle.to_tensor(np.linspace(-1, 1, 12, dtype="float32").reshape(3, 4))
    for _ in range(steps):
        (model(x) ** 2).mean().backward()
        optimizer.step()
        optimizer.clear_grad()
        scheduler.step()


def test_momentum_warmup_updates_with_each_steps_momentum():
    """v ← μ(t)·v + g, p ← p − lr(t)·v with μ 0.5, 0.633, 0.767, then 0.9: the reference heavy-ball update."""
    paddle.seed(1)
    model = MLP(4, [5], 3, 0.0, 0.0)
    optimizer, scheduler, _ = build_optimizer(model, momentum_cfg("cosine"), steps_per_epoch=6, epochs=1)
    x = paddle.to_tensor(np.linspace(-1, 1, 12, dtype="float32").reshape(3, 4))
    velocity = {n: 0.0 for n, _ in model.named_parameters()}
    for t, mu in enumerate([0.5, 0.5 + 0.4 / 3, 0.5 + 0.8 / 3, 0.9, 0.9]):
        lr = optimizer.get_lr()
        (model(x) ** 2).mean().backward()
        before = {n: (p.numpy().astype(np.float64), p.grad.numpy().astype(np.float64))
                  for n, p in model.named_parameters()}
        optimizer.step()
        optimizer.clear_grad()
        scheduler.step()
        for n, p in model.named_parameters():
            weight, grad = before[n]
            velocity[n] = mu * velocity[n] + grad
            np.testing.assert_allclose(p.numpy(), weight - lr * velocity[n], rtol=2e-5, atol=1e-6,
                                       err_msg=f"{n} step {t}")


def momentum_run(start: dict, steps: int, optimizer_state: dict | None = None) -> tuple[dict, dict]:
    """``steps`` steps from the weights ``start`` (and an optimizer's state) as a new process takes them: Paddle's
    unique names, which key the optimizer's state, start over."""
    with paddle.utils.unique_name.guard():
        model = MLP(4, [5], 3, 0.0, 0.0)
        model.set_state_dict(start)
        optimizer, scheduler, _ = build_optimizer(model, momentum_cfg(), 5, 1)
        assert scheduler is not None  # a constant lr with a momentum warmup still counts its steps
        if optimizer_state is not None:
            optimizer.set_state_dict(optimizer_state)
        momentum_steps(model, optimizer, scheduler, steps)
        return {n: p.numpy() for n, p in model.state_dict().items()}, optimizer.state_dict()


def test_a_resumed_momentum_warmup_goes_on_where_it_stopped():
    """The warmup's step is the lr scheduler's, which the optimizer's state holds: 2 steps, then 3 resumed equal 5."""
    paddle.seed(2)
    start = MLP(4, [5], 3, 0.0, 0.0).state_dict()
    straight, _ = momentum_run(start, 5)
    stopped, state = momentum_run(start, 2)
    resumed, _ = momentum_run(stopped, 3, state)
    for name, weight in straight.items():
        np.testing.assert_allclose(resumed[name], weight, rtol=1e-6, atol=1e-7, err_msg=name)


class EmbedNet(paddle.nn.Layer):
    def __init__(self):
        super().__init__()
        self.embedding = paddle.nn.Embedding(20, 8)
        self.encoder = paddle.nn.Linear(8, 8)
        self.head = paddle.nn.Linear(8, 3)

    def forward(self, ids):
        return self.head(self.encoder(self.embedding(ids).mean(axis=1)))


def names(model, **overrides):
    return param_groups_weight_decay(model, optim_cfg(**overrides)).decay


def test_embeddings_decay_only_and_no_decay_choose_the_decay_group():
    model = EmbedNet()
    assert names(model) == ["embedding.weight", "encoder.weight", "head.weight"]
    assert names(model, decay_embeddings=False) == ["encoder.weight", "head.weight"]
    assert names(model, decay_only=["^embedding", "^head"]) == ["embedding.weight", "head.weight"]
    assert names(model, no_decay=["encoder"]) == ["embedding.weight", "head.weight"]
    assert names(model, decay_only=["bias"]) == []  # a bias never decays, even when asked by pattern


def test_group_overrides_set_decay_and_lr_per_group_and_the_table_lists_them():
    cfg = optim_cfg(weight_decay=1e-4, groups=[{"match": "^embedding", "lr_mult": 0.1, "weight_decay": 5e-4},
                                               {"match": "^head", "lr_mult": 2.0, "weight_decay": None}])
    table = param_groups_weight_decay(EmbedNet(), cfg).table()
    rows = {row["name"]: (row["weight_decay"], row["lr_mult"], row["params"]) for row in table["groups"]}
    assert rows == {
        "decay": (1e-4, 1.0, ["encoder.weight"]),
        "no_decay": (0.0, 1.0, ["encoder.bias"]),
        "^embedding": (5e-4, 0.1, ["embedding.weight"]),
        "^head": (1e-4, 2.0, ["head.weight"]),
        "^head (no_decay)": (0.0, 2.0, ["head.bias"]),
    }
    assert table["decay_count"] == 3 and table["no_decay_count"] == 2


@pytest.mark.parametrize("name,mode", [("sgd", "coupled"), ("sgd", "decoupled"), ("momentum", "decoupled"),
                                       ("adam", "decoupled"), ("adamw", "decoupled"), ("adamw", "coupled")])
def test_with_zero_gradient_each_group_shrinks_by_its_own_lr_mult_and_decay(name, mode):
    """A zero gradient isolates the decay: p ← p·(1 − lr·lr_mult·λ) for both the coupled SGD step and decoupled ones."""
    model = EmbedNet()
    cfg = optim_cfg(name=name, decay_mode=mode, lr=0.1, weight_decay=0.01,
                    groups=[{"match": "^embedding", "lr_mult": 0.5, "weight_decay": 0.2}])
    before = {n: p.numpy().copy() for n, p in model.named_parameters()}
    optimizer, _, _ = build_optimizer(model, cfg, 1, 1)
    (model(paddle.to_tensor([[1, 2]])).sum() * 0.0).backward()
    optimizer.step()
    after = dict(model.named_parameters())
    np.testing.assert_allclose(after["embedding.weight"].numpy(), before["embedding.weight"] * (1 - 0.1 * 0.5 * 0.2),
                               rtol=1e-6)
    np.testing.assert_allclose(after["head.weight"].numpy(), before["head.weight"] * (1 - 0.1 * 0.01), rtol=1e-6)
    np.testing.assert_array_equal(after["head.bias"].numpy(), before["head.bias"])


def reference_update(name: str, mode: str, p, g, lam: float, lr: float, state: dict, t: int):
    """The textbook update the fast kernels must match: coupled adds λ·p to g, decoupled shrinks p first."""
    if mode == "decoupled":
        p, lam = p * (1 - lr * lam), 0.0
    g = g + lam * p
    if name == "sgd":
        return p - lr * g
    if name == "momentum":
        state["v"] = 0.9 * state.get("v", 0.0) + g
        return p - lr * state["v"]
    state["m"] = 0.9 * state.get("m", 0.0) + 0.1 * g
    state["s"] = 0.999 * state.get("s", 0.0) + 0.001 * g * g
    correction = np.sqrt(1 - 0.999**t)
    return p - lr * correction / (1 - 0.9**t) * state["m"] / (np.sqrt(state["s"]) + 1e-8 * correction)


@pytest.mark.parametrize("name,mode", [("sgd", "l2"), ("momentum", "l2"), ("adam", "l2"), ("sgd", "decoupled"),
                                       ("momentum", "decoupled"), ("adam", "decoupled"), ("adamw", "decoupled")])
def test_each_fast_update_path_matches_the_reference_formula_step_by_step(name, mode):
    paddle.seed(1)
    model = MLP(4, [5], 3, 0.0, 0.0)
    lam, lr = 0.05, 0.05
    optimizer, _, table = build_optimizer(model, optim_cfg(name=name, decay_mode=mode, lr=lr, weight_decay=lam), 1, 1)
    decays = set(table.decay)
    x = paddle.to_tensor(np.linspace(-1, 1, 12, dtype="float32").reshape(3, 4))
    states = {n: {} for n, _ in model.named_parameters()}
    for t in range(1, 5):
        (model(x) ** 2).mean().backward()
        before = {n: (p.numpy().astype(np.float64), p.grad.numpy().astype(np.float64))
                  for n, p in model.named_parameters()}
        optimizer.step()
        optimizer.clear_grad()
        for n, p in model.named_parameters():
            expected = reference_update(name, mode, *before[n], lam if n in decays else 0.0, lr, states[n], t)
            np.testing.assert_allclose(p.numpy(), expected, rtol=2e-5, atol=1e-6, err_msg=f"{n} step {t}")
