"""Framework facts F1–F9 of the claims, measured on the installed Paddle: ``python -m paddle_reg.facts``.

Each check measures what Paddle (or the suite's layer the claim is about) does and derives the verdict from
the numbers with the rule it states, so the verdict flips if Paddle behaves the other way. ``IDENTITIES`` are the
exact checks that decide a part of an experiment claim (E3's placement) the same way. The command caches
its results per Paddle version and facts code; reports read that cache (``cached_results``).
"""
from __future__ import annotations

import dataclasses
import hashlib
import inspect
import json
import math
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import paddle
import paddle.nn.functional as F
from paddle import nn

from paddle_reg import optim
from paddle_reg.datasource import user_cache_dir
from paddle_reg.regularizers import DropPath, GaussianDropout, layers
from paddle_reg.store import write_atomic

SAMPLES = 1_000_000  # elements per statistical check: the standard error of a kept fraction is ~5e-4
EXACT = 1e-6  # relative tolerance for "the same number" in float32


@dataclass
class FactResult:
    id: str
    statement: str
    measured: dict[str, float | str]
    verdict: str  # "supported" | "refuted"
    rule: str  # how the verdict follows from the measured numbers


def _verdict(holds: bool) -> str:
    return "supported" if holds else "refuted"


def _close(a, b, rel: float = EXACT) -> bool:
    return bool(np.allclose(a, b, rtol=rel, atol=rel))


def mlp(hidden: int, input_p: float, hidden_p: float) -> nn.Sequential:
    """784 → hidden → 10 with Dropout on the input and after the hidden ReLU: the MNIST task's MLP, small."""
    return nn.Sequential(nn.Dropout(input_p), nn.Linear(784, hidden), nn.ReLU(), nn.Dropout(hidden_p),
                         nn.Linear(hidden, 10))


def f1_dropout_is_inverted() -> FactResult:
    p = 0.3
    paddle.seed(0)
    out = nn.Dropout(p)(paddle.ones([SAMPLES])).numpy()
    kept = out[out != 0]
    measured = {"p": p, "kept_fraction": float(len(kept) / SAMPLES), "kept_value_min": float(kept.min()),
                "kept_value_max": float(kept.max()), "expected_kept_value": 1 / (1 - p), "mean": float(out.mean())}
    holds = (_close(kept.min(), 1 / (1 - p)) and _close(kept.max(), 1 / (1 - p))
             and abs(measured["kept_fraction"] - (1 - p)) < 0.005 and abs(measured["mean"] - 1) < 0.01)
    return FactResult("F1", "Paddle's Dropout is inverted: kept elements ×1/(1−p), expectation unchanged", measured,
                      _verdict(holds), "every kept value = 1/(1−p) (rel 1e-6), kept fraction within 0.005 of 1−p, "
                      "mean within 0.01 of 1, on 1e6 ones")


def f2_eval_mode_is_deterministic() -> FactResult:
    paddle.seed(0)
    x = paddle.rand([64, 784])
    model, path = mlp(256, 0.2, 0.5), DropPath(0.5)
    model.train()
    path.train()
    train_differs = not _close(model(x).numpy(), model(x).numpy()) and not _close(path(x).numpy(), path(x).numpy())
    model.eval()
    path.eval()
    first = model(x).numpy()
    without_dropout = x
    for layer in model.children():  # the same weights with the dropout layers left out
        without_dropout = without_dropout if isinstance(layer, nn.Dropout) else layer(without_dropout)
    measured = {"train_two_calls_max_abs_diff": float(np.abs(model.train()(x).numpy() - model(x).numpy()).max()),
                "eval_two_calls_max_abs_diff": float(np.abs(model.eval()(x).numpy() - first).max()),
                "eval_vs_no_dropout_model_max_abs_diff": float(np.abs(first - without_dropout.numpy()).max()),
                "droppath_eval_vs_input_max_abs_diff": float(np.abs(path(x).numpy() - x.numpy()).max())}
    holds = train_differs and measured["eval_two_calls_max_abs_diff"] == 0.0 \
        and measured["eval_vs_no_dropout_model_max_abs_diff"] == 0.0 and measured["droppath_eval_vs_input_max_abs_diff"] == 0.0
    return FactResult("F2", "Dropout and DropPath are off after model.eval(): outputs deterministic; in train mode they vary",
                      measured, _verdict(holds), "train-mode calls differ; eval-mode calls identical and equal to the "
                      "same MLP without dropout; DropPath in eval returns its input exactly")


def _adam_steps(weight_decay, steps: int = 3, lr: float = 0.1) -> np.ndarray:
    """A 1-D parameter after ``steps`` updates of ``paddle.optimizer.Adam(weight_decay=...)`` on loss Σ 0.01·p."""
    param = paddle.create_parameter([4], "float32", default_initializer=nn.initializer.Assign(np.array(
        [1.0, -2.0, 3.0, -4.0], dtype="float32")))
    optimizer = paddle.optimizer.Adam(learning_rate=lr, parameters=[param], weight_decay=weight_decay)
    for _ in range(steps):
        (0.01 * param).sum().backward()
        optimizer.step()
        optimizer.clear_grad()
    return param.numpy()


def adam_by_hand(p0, grad_fn, lr: float, steps: int, coupled: float = 0.0, decoupled: float = 0.0,
                 beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8) -> np.ndarray:
    """Adam in float64: g ← ∇ + coupled·p (L2), p ← p − lr·decoupled·p (AdamW), then the Adam step."""
    p, m, v = np.asarray(p0, dtype=np.float64), 0.0, 0.0
    for t in range(1, steps + 1):
        g = grad_fn(p) + coupled * p
        p = p - lr * decoupled * p
        m, v = beta1 * m + (1 - beta1) * g, beta2 * v + (1 - beta2) * g * g
        p = p - lr * (m / (1 - beta1**t)) / (np.sqrt(v / (1 - beta2**t)) + eps)
    return p


def f3_adam_weight_decay_is_decoupled() -> FactResult:
    lam, lr, steps, p0 = 0.5, 0.1, 3, np.array([1.0, -2.0, 3.0, -4.0])
    paddle_adam = _adam_steps(lam, steps, lr)
    grad = lambda p: np.full_like(p, 0.01)  # noqa: E731
    coupled = adam_by_hand(p0, grad, lr, steps, coupled=lam)
    decoupled = adam_by_hand(p0, grad, lr, steps, decoupled=lam)
    measured = {"weight_decay": lam, "lr": lr, "steps": steps,
                "max_abs_diff_to_coupled_l2": float(np.abs(paddle_adam - coupled).max()),
                "max_abs_diff_to_decoupled": float(np.abs(paddle_adam - decoupled).max()),
                "coupled_vs_decoupled_max_abs_diff": float(np.abs(coupled - decoupled).max())}
    matches_decoupled = measured["max_abs_diff_to_decoupled"] < 1e-5 < measured["max_abs_diff_to_coupled_l2"]
    measured["paddle_adam_matches"] = "decoupled" if matches_decoupled else (
        "coupled L2" if measured["max_abs_diff_to_coupled_l2"] < 1e-5 else "neither")
    return FactResult("F3", "paddle.optimizer.Adam(weight_decay=λ) applies decoupled (AdamW-style) weight decay",
                      measured, _verdict(matches_decoupled), "Paddle's update after 3 steps is within 1e-5 of the "
                      "hand-computed decoupled update and farther than that from the coupled-L2 one")


def _one_update(optimizer_cls, param_values: np.ndarray, lr: float, **kwargs) -> np.ndarray:
    param = paddle.create_parameter(list(param_values.shape), "float32",
                                    default_initializer=nn.initializer.Assign(param_values.astype("float32")))
    optimizer = optimizer_cls(learning_rate=lr, parameters=[param], **kwargs)
    for _ in range(3):
        ((param - 1.0) ** 2).sum().backward()
        optimizer.step()
        optimizer.clear_grad()
    return param.numpy()


def f4_l2_equals_decay_for_sgd_not_adam() -> FactResult:
    lam, lr, p0 = 0.1, 0.05, np.array([0.5, -1.5, 2.0, 3.0])
    sgd_l2 = _one_update(paddle.optimizer.SGD, p0, lr, weight_decay=paddle.regularizer.L2Decay(lam))
    sgd_decay = p0.astype(np.float64)
    for _ in range(3):  # p ← p − lr·λ·p − lr·∇((p−1)²)
        sgd_decay = sgd_decay - lr * lam * sgd_decay - lr * 2 * (sgd_decay - 1.0)
    adam_l2 = _one_update(paddle.optimizer.Adam, p0, lr, weight_decay=paddle.regularizer.L2Decay(lam))
    adamw = _one_update(paddle.optimizer.AdamW, p0, lr, weight_decay=lam)
    measured = {"weight_decay": lam, "lr": lr, "steps": 3,
                "sgd_l2_vs_decoupled_max_abs_diff": float(np.abs(sgd_l2 - sgd_decay).max()),
                "adam_l2_vs_adamw_max_abs_diff": float(np.abs(adam_l2 - adamw).max())}
    holds = measured["sgd_l2_vs_decoupled_max_abs_diff"] < 1e-5 and measured["adam_l2_vs_adamw_max_abs_diff"] > 1e-3
    return FactResult("F4", "For SGD, L2 in the gradient and decoupled weight decay give the same update; "
                      "for Adam they differ (AdamW decouples)", measured, _verdict(holds),
                      "Paddle SGD+L2Decay within 1e-5 of p ← p − lr·λ·p − lr·∇, and Paddle Adam+L2Decay differs from "
                      "Paddle AdamW by more than 1e-3 after 3 steps")


ARTICLE_GROUPING = """
decay_params = [p.name for n, p in model.named_parameters() if not any(nd in n for nd in ['bias', 'norm'])]
param_groups = [
    {'params': [p for n, p in model.named_parameters() if n in decay_params], 'weight_decay': 1e-4},
    {'params': [p for n, p in model.named_parameters() if n not in decay_params], 'weight_decay': 0.0}]
optimizer = paddle.optimizer.Adam(param_groups, learning_rate=0.001)
"""  # article P, "参数分组正则", verbatim apart from line breaks


class ConvBN(nn.Layer):
    """A conv block with BatchNorm as YOLOv3 backbones build it, with the norm stored as ``bn``."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2D(3, 8, 3, bias_attr=False)
        self.bn = nn.BatchNorm2D(8)
        self.head = nn.Linear(8, 2)

    def forward(self, x):
        return self.head(F.relu(self.bn(self.conv(x))).mean(axis=[2, 3]))


def _intended_decay(model: nn.Layer) -> set[str]:
    """What the snippet means to decay: weights that are neither biases nor normalization parameters."""
    return set(optim.param_groups_weight_decay(model).decay)


def f5_article_grouping_snippet() -> FactResult:
    measured: dict[str, float | str] = {}
    holds = True
    for label, model in (("mlp", mlp(64, 0.0, 0.5)), ("conv_bn", ConvBN())):
        scope = {"model": model, "paddle": paddle}
        try:
            exec(ARTICLE_GROUPING, scope)  # the article's code, run as written
            measured[f"{label}_optimizer"] = "built"
        except Exception as exc:  # noqa: BLE001  (whatever it raises is the measurement)
            measured[f"{label}_optimizer"] = f"{type(exc).__name__}: {exc}"
            holds = False
        names = {id(p): n for n, p in model.named_parameters()}
        snippet_decay = {names[id(p)] for p in scope["param_groups"][0]["params"]}
        intended = _intended_decay(model)
        by_name_only = {n for n in names.values() if not any(part in n for part in ("bias", "norm"))}
        measured[f"{label}_snippet_decay_group"] = ", ".join(sorted(snippet_decay)) or "(empty)"
        measured[f"{label}_intended_decay_group"] = ", ".join(sorted(intended))
        measured[f"{label}_name_filter_alone_decays"] = ", ".join(sorted(by_name_only))  # were p.name fixed to n
        holds = holds and snippet_decay == intended
    return FactResult("F5", "Article P's grouping snippet puts the weights (not biases, not norm parameters) into the "
                      "decay group", measured, _verdict(holds), "the snippet, executed as written on a 784-64-10 MLP and "
                      "a Conv-BN block, builds its optimizer and its decay group equals the weights that are neither "
                      "biases nor in a normalization layer")


def f6_gaussian_dropout_matches_dropout() -> FactResult:
    p = 0.3
    paddle.seed(0)
    ones = paddle.ones([SAMPLES])
    gaussian, bernoulli = GaussianDropout(p)(ones).numpy(), nn.Dropout(p)(ones).numpy()
    target_var = p / (1 - p)
    measured = {"p": p, "target_variance": target_var,
                "gaussian_mean": float(gaussian.mean()), "gaussian_variance": float(gaussian.var()),
                "dropout_mean": float(bernoulli.mean()), "dropout_variance": float(bernoulli.var())}
    holds = all(abs(measured[f"{k}_mean"] - 1) < 0.005 and abs(measured[f"{k}_variance"] / target_var - 1) < 0.01
                for k in ("gaussian", "dropout"))
    return FactResult("F6", "Gaussian dropout N(1, p/(1−p)) matches standard dropout in expectation and variance",
                      measured, _verdict(holds), "on 1e6 ones, both means within 0.005 of 1 and both variances "
                      "within 1% of p/(1−p)")


def _batchnorm_after_one_step(momentum: float, batch: np.ndarray):
    bn = nn.BatchNorm1D(batch.shape[1], momentum=momentum)
    bn.train()
    out = bn(paddle.to_tensor(batch)).numpy()
    return bn, out


def f7_batchnorm_momentum_convention() -> FactResult:
    momentum = 0.9
    batch = np.random.default_rng(0).normal(5.0, 2.0, size=(256, 3)).astype("float32")
    bn, _ = _batchnorm_after_one_step(momentum, batch)
    running = bn._mean.numpy()
    tensorflow_rule = momentum * 0.0 + (1 - momentum) * batch.mean(axis=0)  # running ← m·running + (1−m)·batch
    pytorch_rule = (1 - momentum) * 0.0 + momentum * batch.mean(axis=0)  # running ← (1−m)·running + m·batch
    measured = {"momentum": momentum, "batch_mean_0": float(batch[:, 0].mean()),
                "running_mean_0_after_one_step": float(running[0]),
                "tensorflow_rule_0": float(tensorflow_rule[0]), "pytorch_rule_0": float(pytorch_rule[0])}
    tf, pt = _close(running, tensorflow_rule, 1e-5), _close(running, pytorch_rule, 1e-5)
    measured["paddle_convention"] = ("TensorFlow/Keras: running ← momentum·running + (1−momentum)·batch" if tf else
                                     "PyTorch: running ← (1−momentum)·running + momentum·batch" if pt else "neither")
    return FactResult("F7", "BatchNorm momentum is defined oppositely in PyTorch and TensorFlow (Paddle's convention "
                      "shown)", measured, _verdict(tf != pt), "after one training batch from running mean 0, "
                      "Paddle's running mean matches exactly one of the two rules (they differ for momentum ≠ 0.5)")


def f8_batchnorm_train_batch_stats_eval_running_stats() -> FactResult:
    rng = np.random.default_rng(1)
    batch = rng.normal(5.0, 2.0, size=(256, 3)).astype("float32")
    bn, train_out = _batchnorm_after_one_step(0.9, batch)
    eps = bn._epsilon
    with_batch_stats = (batch - batch.mean(axis=0)) / np.sqrt(batch.var(axis=0) + eps)
    bn.eval()
    eval_out = bn(paddle.to_tensor(batch)).numpy()
    mean, var = bn._mean.numpy(), bn._variance.numpy()
    with_running_stats = (batch - mean) / np.sqrt(var + eps)
    measured = {"train_vs_batch_stats_max_abs_diff": float(np.abs(train_out - with_batch_stats).max()),
                "eval_vs_running_stats_max_abs_diff": float(np.abs(eval_out - with_running_stats).max()),
                "eval_vs_batch_stats_max_abs_diff": float(np.abs(eval_out - with_batch_stats).max())}
    holds = measured["train_vs_batch_stats_max_abs_diff"] < 1e-3 and \
        measured["eval_vs_running_stats_max_abs_diff"] < 1e-3 < measured["eval_vs_batch_stats_max_abs_diff"]
    return FactResult("F8", "BatchNorm normalizes with batch statistics in train mode and running statistics in eval "
                      "mode", measured, _verdict(holds), "train output within 1e-3 of the batch-statistics formula, "
                      "eval output within 1e-3 of the running-statistics formula and not of the batch one")


def f9_droppath_drops_whole_branches_per_sample() -> FactResult:
    p, count = 0.25, 20_000
    paddle.seed(0)
    branch = paddle.rand([count, 4, 8, 8]) + 0.5
    layer = DropPath(p)
    out = layer(branch).numpy().reshape(count, -1)
    ratio = out / branch.numpy().reshape(count, -1)
    dropped, kept = (ratio == 0).all(axis=1), np.isclose(ratio, 1 / (1 - p), rtol=1e-5).all(axis=1)
    layer.eval()
    measured = {"p": p, "samples": count, "whole_sample_dropped_fraction": float(dropped.mean()),
                "whole_sample_kept_fraction": float(kept.mean()),
                "mixed_samples": int(count - dropped.sum() - kept.sum()),
                "eval_vs_input_max_abs_diff": float(np.abs(layer(branch).numpy() - branch.numpy()).max())}
    holds = measured["mixed_samples"] == 0 and abs(measured["whole_sample_dropped_fraction"] - p) < 0.01 \
        and measured["eval_vs_input_max_abs_diff"] == 0.0
    return FactResult("F9", "DropPath drops whole residual branches per sample and is the identity at inference",
                      measured, _verdict(holds), "every sample's branch is either all zero or all ×1/(1−p), the dropped "
                      "share is within 0.01 of p, and eval mode returns the branch exactly")


def e3_placement_is_an_identity() -> FactResult:
    """The MNIST task's MLP with Dropout after vs before each ReLU, same weights and masks: outputs and gradients."""
    from omegaconf import OmegaConf

    from paddle_reg.regularizers.layers import DROPOUT_POSITIONS
    from paddle_reg.task_registry import get_task

    x = paddle.to_tensor(np.random.default_rng(0).random((256, 784), dtype=np.float32))
    results = {}
    for position in DROPOUT_POSITIONS:
        cfg = OmegaConf.create({"model": {"hidden": [64, 64], "dropout": {"input": 0.0, "hidden": 0.5},
                                          "dropout_position": position}, "reg": {}})
        paddle.seed(0)
        model = get_task("mnist").build_model(cfg, None)
        model.train()
        paddle.seed(1)  # the same Dropout masks in both placements
        out = model(x)
        out.square().mean().backward()
        results[position] = (out.numpy(), np.concatenate([p.grad.numpy().ravel() for p in model.parameters()]))
    (out_a, grad_a), (out_b, grad_b) = results.values()
    measured = {"p": 0.5, "output_max_abs_diff": float(np.abs(out_a - out_b).max()),
                "gradient_max_abs_diff": float(np.abs(grad_a - grad_b).max())}
    holds = measured["output_max_abs_diff"] == 0.0 and measured["gradient_max_abs_diff"] == 0.0
    return FactResult("E3.placement", "Dropout after the ReLU and before it are the same function: inverted Dropout "
                      "multiplies by m/(1−p) ≥ 0, which commutes with ReLU", measured, _verdict(holds),
                      "the MNIST MLP (784-64-64-10, hidden p = 0.5) built with each placement from the same seed, one "
                      "training-mode batch with the same masks: outputs and gradients equal exactly (max |diff| = 0)")


CHECKS = (f1_dropout_is_inverted, f2_eval_mode_is_deterministic, f3_adam_weight_decay_is_decoupled,
          f4_l2_equals_decay_for_sgd_not_adam, f5_article_grouping_snippet, f6_gaussian_dropout_matches_dropout,
          f7_batchnorm_momentum_convention, f8_batchnorm_train_batch_stats_eval_running_stats,
          f9_droppath_drops_whole_branches_per_sample)
IDENTITIES = (e3_placement_is_an_identity,)  # each decides a part of an experiment claim exactly


def check_all() -> list[FactResult]:
    """Run F1–F9 and the identities on the CPU of the installed Paddle."""
    paddle.set_device("cpu")
    return [check() for check in CHECKS + IDENTITIES]


def cache_path() -> Path:
    """Where the results for this Paddle version and this code live: keyed by both, the code being this module,
    the suite's layers and optimizer factory (F2, F5, F6 and F9 measure them) and the MNIST task (E3.placement)."""
    from paddle_reg.task_registry import get_task

    sources = (__file__, layers.__file__, optim.__file__, inspect.getfile(type(get_task("mnist"))))
    code = hashlib.sha256(b"".join(Path(source).read_bytes() for source in sources))
    return user_cache_dir() / "facts" / f"paddle-{paddle.__version__}-{code.hexdigest()[:12]}.json"


def measure_and_cache() -> list[FactResult]:
    results = check_all()
    write_atomic(cache_path(), lambda tmp: tmp.write_text(json.dumps([dataclasses.asdict(r) for r in results],
                                                                     indent=2, ensure_ascii=False)))
    return results


def cached_results() -> list[FactResult]:
    """F1–F9 and the identities from the cache; measured and cached first when it has none for this Paddle and code."""
    try:
        return [FactResult(**result) for result in json.loads(cache_path().read_text(encoding="utf-8"))]
    except (OSError, ValueError, TypeError):
        return measure_and_cache()


def _format(value) -> str:
    return f"{value:.6g}" if isinstance(value, float) and math.isfinite(value) else str(value)


def main() -> int:
    for result in measure_and_cache():
        print(f"{result.id}  {result.verdict:<9}  {result.statement}")
        for key, value in result.measured.items():
            print(f"      {key} = {_format(value)}")
        print(f"      rule: {result.rule}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
