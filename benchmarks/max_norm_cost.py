"""The max-norm constraint's cost per training step on the MNIST full net (784-1024-1024-1024-10), one thread.

Three loops, interleaved round after round in one process so drifts in machine speed hit every side alike, each a
bare momentum-SGD step of the suite's MLP with Dropout (input 0.2, hidden 0.5, as `profile=full` builds it) at
batch 100:

* dropout: no constraint;
* suite: then the suite's `MaxNorm` (numpy on the parameter's memory, the CPU path);
* paddle_ops: then the same constraint in Paddle's own ops (`cap_in_paddle`: the path other devices take).

The last line is `suite/dropout <median ratio>`, goal ≤ 1.10; paddle_ops/dropout is what the constraint cost before
the suite took numpy on the CPU.

    python benchmarks/max_norm_cost.py [--rounds 5] [--steps 100] [--out PATH]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

from machine import prepare

REPO = Path(__file__).resolve().parents[1]
WIDTHS, BATCH, MAX_NORM = (784, 1024, 1024, 1024, 10), 100, 2.0


def paddle_ops_constraint(model):
    """The constraint in Paddle's own ops on every weight: what `apply_max_norm` runs off the CPU."""
    import paddle

    from paddle_reg.regularizers.penalties import cap_in_paddle, max_norm_targets

    targets = max_norm_targets(model)

    @paddle.no_grad()
    def constrain():
        for weight, axes in targets:
            cap_in_paddle(weight, axes, MAX_NORM)
    return constrain


def step_seconds(constraint, batches, steps: int) -> float:
    import paddle
    import paddle.nn.functional as F

    from paddle_reg.regularizers import MaxNorm
    from paddle_reg.tasks.mnist import MLP

    paddle.seed(0)
    model = MLP(WIDTHS[0], list(WIDTHS[1:-1]), WIDTHS[-1], input_p=0.2, hidden_p=0.5)
    optimizer = paddle.optimizer.Momentum(0.1, momentum=0.95, parameters=model.parameters())
    constrain = {"dropout": lambda: None, "suite": MaxNorm(model, MAX_NORM),
                 "paddle_ops": paddle_ops_constraint(model)}[constraint]
    model.train()
    for step in range(steps + 10):
        if step == 10:  # the first steps pay for kernel setup
            started = time.perf_counter()
        inputs, labels = batches[step % len(batches)]
        F.cross_entropy(model(inputs), labels).backward()
        optimizer.step()
        optimizer.clear_grad()
        constrain()
    float(model.net[1].weight.sum())  # wait for the last update
    return (time.perf_counter() - started) / steps


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--out", type=Path, default=REPO / "reports" / "benchmarks" / "max_norm_cost.json")
    args = parser.parse_args()
    machine = prepare(threads=1)

    import paddle

    from paddle_reg.store import write_json

    paddle.seed(0)
    batches = [(paddle.rand([BATCH, WIDTHS[0]]), paddle.randint(0, WIDTHS[-1], [BATCH])) for _ in range(10)]
    arms = ("dropout", "suite", "paddle_ops")
    seconds: dict[str, list[float]] = {arm: [] for arm in arms}
    for _ in range(args.rounds):
        for arm in arms:
            seconds[arm].append(step_seconds(arm, batches, args.steps))
    ratios = {arm: [s / b for s, b in zip(seconds[arm], seconds["dropout"])] for arm in arms[1:]}
    record = {"benchmark": "max_norm_cost", "command": "python benchmarks/max_norm_cost.py " + " ".join(sys.argv[1:]),
              "machine": machine, "rounds": args.rounds, "steps": args.steps,
              "model": f"the suite's MLP {'-'.join(map(str, WIDTHS))}, dropout 0.2/0.5, momentum SGD, batch {BATCH}, c = {MAX_NORM}",
              "seconds_per_step": {arm: [round(s, 6) for s in values] for arm, values in seconds.items()},
              "ratio_to_dropout": {arm: [round(r, 4) for r in values] for arm, values in ratios.items()},
              "created": time.strftime("%Y-%m-%d %H:%M:%S")}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_json(args.out, record)
    for arm in arms:
        print(f"  {arm:<11} {statistics.median(seconds[arm]) * 1e3:7.1f} ms/step (median of {args.rounds} rounds)")
    print(f"paddle_ops/dropout {statistics.median(ratios['paddle_ops']):.3f}")
    print(f"written: {args.out}")
    print(f"suite/dropout {statistics.median(ratios['suite']):.3f}  (goal <= 1.10)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
