"""Probes over the best checkpoints of finished runs; results land in each run's probes.json (claim E9)."""
from __future__ import annotations

import logging

import numpy as np
import paddle
from paddle import nn

from paddle_reg.runtime import derived_seed
from paddle_reg.store import RunDir

log = logging.getLogger(__name__)


class UnitFailure:
    """Zeroes a fixed random share of each hidden ReLU's units (no rescaling): neurons that fail at inference."""

    def __init__(self, model: nn.Layer, fraction: float, rng: np.random.Generator):
        self.fraction, self.rng, self.masks = fraction, rng, {}
        self.handles = [layer.register_forward_post_hook(self._hook) for layer in model.sublayers()
                        if isinstance(layer, nn.ReLU)]

    def _hook(self, layer, inputs, output):
        if id(layer) not in self.masks:  # drawn at the first batch, then fixed for the whole evaluation
            units = output.shape[-1]
            mask = np.ones(units, dtype="float32")
            mask[self.rng.choice(units, int(round(self.fraction * units)), replace=False)] = 0.0
            self.masks[id(layer)] = paddle.to_tensor(mask)
        return output * self.masks[id(layer)]

    def remove(self) -> None:
        for handle in self.handles:
            handle.remove()


def unit_failure(task, model: nn.Layer, data, fractions: list[float], repeats: int, seed: int) -> dict:
    """Test accuracy with a share ``k`` of the hidden units zeroed, mean over ``repeats`` random masks per k."""
    accuracy = []
    for k in fractions:
        values = []
        for repeat in range(repeats if k > 0 else 1):
            probe = UnitFailure(model, k, np.random.default_rng(derived_seed(seed, "unit_failure", k, repeat)))
            try:
                values.append(task.evaluate(model, data, "test").metrics["accuracy"])
            finally:
                probe.remove()
        accuracy.append(float(np.mean(values)))
    return {"fractions": list(fractions), "accuracy": accuracy, "repeats": repeats}


def run_probes(run_dirs: list[RunDir], task, data, settings: dict) -> None:
    """Add the missing ``settings["name"]`` probe result to each finished run (idempotent, atomic per run)."""
    if settings["name"] != "unit_failure":
        raise ValueError(f"unknown probe {settings['name']}")
    from omegaconf import OmegaConf

    fractions = sorted({0.0, *map(float, settings["fractions"])})
    for run_dir in run_dirs:
        done = run_dir.probes()
        if run_dir.status != "finished" or done.get("unit_failure", {}).get("fractions") == fractions:
            continue
        cfg = OmegaConf.create(run_dir.config()["run"])
        model = task.build_model(cfg, data)
        run_dir.load_best(model)
        model.eval()
        done["unit_failure"] = unit_failure(task, model, data, fractions, int(settings["repeats"]), cfg.seed)
        run_dir.save_probes(done)
        log.info("%s: unit-failure probe %s", run_dir.path, done["unit_failure"]["accuracy"])
