"""The training loop shared by all tasks: epochs, validation, best checkpoint, early stopping, resume."""
from __future__ import annotations

import itertools
import logging
import math
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np
import paddle
from tqdm import tqdm

from paddle_reg.errors import UserError
from paddle_reg.regularizers import StepRegularizers
from paddle_reg.runtime import derived_seed
from paddle_reg.store import RunDir

log = logging.getLogger(__name__)


class Diverged(Exception):
    """The training loss became NaN or infinite."""

    def __init__(self, epoch: int):
        super().__init__(f"training loss is not finite in epoch {epoch}")
        self.epoch = epoch


class Pruned(Exception):
    """The epoch callback stopped the run (a tuning trial its pruner stopped); its last epoch is checkpointed."""

    def __init__(self, epoch: int):
        super().__init__(f"pruned after epoch {epoch}")
        self.epoch = epoch


@dataclass
class TrainSettings:
    epochs: int
    batch_size: int
    patience: int | None  # epochs without improvement before stopping; None: never stop early
    min_delta: float
    seed: int
    monitor: str | None = None  # validation metric for the best epoch and early stopping; None: the task's
    mode: str | None = None  # "min" | "max"; None: the task's
    steps: int | None = None  # a step budget, a multiple of epochs: an epoch is then steps / epochs steps

    def steps_per_epoch(self, train_size: int) -> int:
        """Optimizer steps between two validations: a pass over the training set, or the budget's share."""
        return self.steps // self.epochs if self.steps is not None else train_size // self.batch_size


def train_settings(cfg) -> TrainSettings:
    """From a run config: ``reg.early_stop`` (the early_stop regime) replaces ``train.patience``/``min_delta``."""
    stop = (cfg.get("reg") or {}).get("early_stop")
    steps = cfg.train.get("steps")
    if stop is None:
        return TrainSettings(cfg.train.epochs, cfg.train.batch_size, cfg.train.patience, cfg.train.min_delta, cfg.seed,
                             steps=steps)
    return TrainSettings(cfg.train.epochs, cfg.train.batch_size, stop.patience, stop.get("min_delta", 0.0), cfg.seed,
                         stop.get("metric"), stop.get("mode"), steps)


class Trainer:
    """Trains ``model`` on ``task`` data, checkpointing every epoch into ``run_dir`` so a killed run resumes.

    An epoch is one pass over the training set, or with a step budget (``settings.steps``) its share of the steps,
    taken from consecutive passes. Each pass is shuffled by an RNG seeded from (seed, pass) and each epoch reseeds
    Paddle's generator and the augmentation RNG from (seed, epoch), so a resumed run draws the same batches, dropout
    masks and Mixup/CutMix/Cutout draws as one that never stopped (without a budget pass k is epoch k).
    ``step_regs`` adds batch augmentation, the L1 term and the max-norm constraint around each step.
    ``on_epoch`` (epoch, monitored validation value), called once the epoch is checkpointed, stops the run by
    returning True.
    """

    def __init__(self, task, model, optimizer, scheduler, run_dir: RunDir, settings: TrainSettings,
                 label: str = "", progress: bool | None = None, step_regs: StepRegularizers | None = None,
                 on_epoch: Callable[[int, float], bool] | None = None):
        self.task, self.model, self.optimizer, self.scheduler = task, model, optimizer, scheduler
        self.run_dir, self.settings, self.label, self.progress = run_dir, settings, label, progress
        self.step_regs = step_regs if step_regs is not None else StepRegularizers(model, None)
        self.on_epoch = on_epoch
        self.monitor = settings.monitor or task.monitor
        mode = settings.mode or (task.monitor_mode if self.monitor == task.monitor else None)
        if mode not in ("min", "max"):
            raise UserError(f"early stopping on val_{self.monitor} needs its mode: set reg.early_stop.mode=min or max")
        self.better = (lambda a, b: a < b - settings.min_delta) if mode == "min" \
            else (lambda a, b: a > b + settings.min_delta)

    def fit(self, data) -> dict:
        """Train to the end (or early stop), then return the best checkpoint's train/val/test metrics."""
        state, history = self._resume()
        steps = self.settings.steps_per_epoch(len(data.train))
        batches = self._batches(data, state["epoch"] * steps)
        from visualdl import LogWriter  # imported late: it pulls in a web stack at import time

        with LogWriter(logdir=str(self.run_dir.vdl_dir)) as writer:
            while not state["stopped_early"] and state["epoch"] < self.settings.epochs:
                epoch = state["epoch"] + 1
                record = self._run_epoch(data, epoch, itertools.islice(batches, steps), steps)
                history.append(record)
                for key, value in record.items():
                    if key != "epoch":
                        writer.add_scalar(tag=key, value=value, step=epoch)
                current = self._monitored(record)
                if state["best"] is None or self.better(current, state["best"]):
                    state.update(best=current, best_epoch=epoch, bad_epochs=0)
                    self.run_dir.save_best(self.model)
                else:
                    state["bad_epochs"] += 1
                state["epoch"] = epoch
                state["stopped_early"] = self.settings.patience is not None and state["bad_epochs"] >= self.settings.patience
                self.run_dir.save_epoch(self.model, self.optimizer, state, history)
                log.info("%s epoch %d/%d train_loss %.4f val_%s %.4f%s", self.label, epoch, self.settings.epochs,
                         record["train_loss"], self.monitor, current, " (best)" if state["best_epoch"] == epoch else "")
                if state["stopped_early"]:
                    log.info("%s early stop: no val improvement for %d epochs", self.label, state["bad_epochs"])
                elif self.on_epoch is not None and self.on_epoch(epoch, current) and epoch < self.settings.epochs:
                    raise Pruned(epoch)
        return self._final_metrics(data, state, history)

    def _monitored(self, record: dict) -> float:
        key = f"val_{self.monitor}"
        if key not in record:
            metrics = sorted(k[4:] for k in record if k.startswith("val_"))
            raise UserError(f"reg.early_stop.metric={self.monitor} is not a validation metric of task "
                            f"{self.task.name}: choose one of {', '.join(metrics)}")
        return record[key]

    def _resume(self) -> tuple[dict, list]:
        checkpoint = self.run_dir.load_checkpoint(self.model)
        if checkpoint is None:
            return {"epoch": 0, "best": None, "best_epoch": None, "bad_epochs": 0, "stopped_early": False}, []
        self.model.set_state_dict(checkpoint["model"])
        self.optimizer.set_state_dict(checkpoint["optimizer"])  # includes the LR scheduler's state
        state = checkpoint["trainer"]
        self.run_dir.mark_resumed(state["epoch"])
        log.info("%s resuming after epoch %d", self.label, state["epoch"])
        return state, self.run_dir.history()[: state["epoch"]]

    def _batches(self, data, start: int):
        """The training batches from optimizer step ``start`` on, pass after pass (pass k from 1 shuffled by its own
        seed); a pass is the task's ``len(train) // batch_size`` batches."""
        seed, size = self.settings.seed, self.settings.batch_size
        per_pass = len(data.train) // size
        passes = (self.task.train_batches(data.train, size, np.random.default_rng(derived_seed(seed, "shuffle", k)))
                  for k in itertools.count(start // per_pass + 1))
        return itertools.islice(itertools.chain.from_iterable(passes), start % per_pass, None)

    def _run_epoch(self, data, epoch: int, batches, total: int) -> dict:
        paddle.seed(derived_seed(self.settings.seed, "dropout", epoch))
        augment_rng = np.random.default_rng(derived_seed(self.settings.seed, "augment", epoch))
        regs = self.step_regs
        self.model.train()
        loss_sum = paddle.zeros([], dtype="float32")
        sums: dict[str, paddle.Tensor] = {}
        count = 0
        started = time.perf_counter()
        for inputs, labels in tqdm(batches, total=total, desc=f"{self.label} epoch {epoch}", leave=False,
                                   disable=None if self.progress is None else not self.progress):
            inputs, mixed = regs.augment(inputs, labels, augment_rng)
            logits = self.model(inputs)
            loss = regs.data_loss(self.task.loss, logits, labels, mixed)
            penalty = regs.penalty()
            (loss if penalty is None else loss + penalty).backward()
            self.optimizer.step()
            self.optimizer.clear_grad()
            regs.after_step()
            if self.scheduler is not None:
                self.scheduler.step()
            with paddle.no_grad():
                loss_sum += loss.detach() * len(labels)
                stats_labels = labels if mixed is None else mixed.major
                for key, value in self.task.batch_stats(logits.detach(), stats_labels).items():
                    sums[key] = sums[key] + value if key in sums else value
            count += len(labels)
        train_time = time.perf_counter() - started
        train_loss = float(loss_sum) / count
        if not math.isfinite(train_loss):
            raise Diverged(epoch)
        train_metrics = self.task.epoch_metrics({k: float(v) for k, v in sums.items()}, count)
        started = time.perf_counter()
        val = self.task.evaluate(self.model, data, "val").metrics
        record = {"epoch": epoch, "train_loss": train_loss, "epoch_time_s": train_time,
                  "eval_time_s": time.perf_counter() - started, "lr": self.optimizer.get_lr()}
        return {**record, **prefixed("train", train_metrics), **prefixed("val", val)}

    def _final_metrics(self, data, state: dict, history: list[dict]) -> dict:
        """The best checkpoint's metrics on every split and the details of its test pass, and the last epoch's test
        metrics as ``last_test_*``; no split is evaluated twice with the same weights."""
        final = {"best_epoch": state["best_epoch"], "epochs_run": state["epoch"], "stopped_early": state["stopped_early"]}
        test = self.task.evaluate(self.model, data, "test")
        final.update(prefixed("last_test", test.metrics))
        if state["best_epoch"] != state["epoch"]:  # else the last weights are the best: their test pass serves both
            self.run_dir.load_best(self.model)
            test = self.task.evaluate(self.model, data, "test")
        final.update(prefixed("train", self.task.evaluate(self.model, data, "train").metrics))
        final.update(self._best_val(data, history, state["best_epoch"]))
        final.update(prefixed("test", test.metrics))
        if test.details:
            final["details"] = prefixed("test", test.details)
        return final

    def _best_val(self, data, history: list[dict], best_epoch: int) -> dict:
        """The loaded best checkpoint's ``val_*``: those its epoch recorded, measured again only when that record is
        missing (a crash between the epoch's checkpoint and its history.json, which resuming does not rewrite)."""
        record = next((r for r in history if r["epoch"] == best_epoch), None)
        if record is None:
            return prefixed("val", self.task.evaluate(self.model, data, "val").metrics)
        return {k: v for k, v in record.items() if k.startswith("val_")}


def prefixed(split: str, values: dict) -> dict:
    """``{"<split>_<key>": value}``: how history.json and final.json name a split's metrics."""
    return {f"{split}_{k}": v for k, v in values.items()}
