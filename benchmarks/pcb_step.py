"""Our PCB training step vs paddledet's own ``ppdet.engine.Trainer`` on the same YOLOv3, batch and input, interleaved.

Both sides train the quick profile's model, built from our config at the same seed, on the same DeepPCB crops for
``--steps`` steps per round, on Paddle's default of one CPU thread (as the quick profile's runs). Ours goes through
``paddle_reg``'s Trainer: crop + flip per sample, then target assignment, network and loss as one static graph, the
depthwise convolutions on the C++ kernel of ``tasks/pcb_depthwise.cc``. ppdet's trains its stock modules through
its Trainer, reader and callbacks (flip, box normalization and Gt2YoloTarget in its reader), its optimizer a Momentum
with L2 1e-4 and no warmup or decay, as ours (ours also caps each gradient tensor's norm, ``optim.clip_norm``, which
ppdet's OptimizerBuilder has only as a global-norm clip: the ratio includes that cost). Each side trains one untimed
epoch first (our static graph is traced on its first step, once per run) and is timed on the second. The ratio is ours /
ppdet's seconds per step (goal ≤ 0.70). Run it alone on the machine:

    PADDLE_REG_DATA=../shared/data python benchmarks/pcb_step.py [--steps 40] [--rounds 3]
"""
from __future__ import annotations

import argparse
import itertools
import logging
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import paddle
from hydra import compose, initialize_config_module
from omegaconf import OmegaConf

from machine import prepare
from paddle_reg.datasource import data_root
from paddle_reg.grid import effective_run_config
from paddle_reg.optim import build_optimizer
from paddle_reg.store import RunDir
from paddle_reg.task_registry import get_task
from paddle_reg.tasks.pcb_data import CLASSES, IMAGE_SIZE, crop_around_defect
from paddle_reg.tasks.pcb_model import build_yolo
from paddle_reg.trainer import Trainer, TrainSettings


def run_config(steps: int) -> OmegaConf:
    with initialize_config_module(config_module="paddle_reg.configs", version_base="1.3"):
        cfg = compose(config_name="config", overrides=["task=pcb", "regime=weight_decay", "data.val_size=1",
                                                       "data.test_size=1", "data.train_eval_size=1"])
    cfg = OmegaConf.create(effective_run_config(cfg, seed=0))
    cfg.data.train_size = steps * cfg.train.batch_size
    cfg.optim.schedule.name, cfg.optim.schedule.warmup_steps = "constant", 0
    return cfg


def ours(cfg, data, folder: Path) -> float:
    """Seconds per step of our Trainer's second epoch (its epoch_time_s excludes the validation pass)."""
    task = get_task("pcb")
    model = task.build_model(cfg, data)
    steps = len(data.train) // cfg.train.batch_size
    optimizer, scheduler, _ = build_optimizer(model, cfg.optim, steps, 1)
    run_dir = RunDir(folder)
    run_dir.path.mkdir(parents=True, exist_ok=True)
    trainer = Trainer(task, model, optimizer, scheduler, run_dir,
                      TrainSettings(1, cfg.train.batch_size, None, 0.0, 0), progress=False)
    batches = trainer._batches(data, 0)
    for epoch in (1, 2):
        record = trainer._run_epoch(data, epoch, itertools.islice(batches, steps), steps)
    return record["epoch_time_s"] / steps


def ppdet_samples(data, crop: int, seed: int) -> list[dict]:
    """The same crops ours draws, as ppdet records: float HWC image, pixel x1 y1 x2 y2 boxes, [n, 1] classes."""
    rng = np.random.default_rng(seed)
    split, records = data.train.split, []
    for i in range(len(split)):
        image, boxes, classes = crop_around_defect(split.images[i], split.boxes[i], split.classes[i], crop, rng)
        records.append({"image": image.transpose(1, 2, 0).astype(np.float32) / 255.0, "gt_bbox": boxes,
                        "gt_class": classes.reshape(-1, 1), "im_shape": np.array([crop, crop], np.float32),
                        "h": crop, "w": crop})
    return records


class StepClock:
    """A ppdet callback: wall time from the last epoch's start to its last step's end."""

    def __init__(self):
        self.started = self.ended = 0.0

    def on_epoch_begin(self, status):
        self.started = time.perf_counter()

    def on_step_end(self, status):
        self.ended = time.perf_counter()

    def __getattr__(self, name):
        return lambda status: None


def ppdet_trainer(cfg, data, samples: list[dict], folder: Path):
    """ppdet's Trainer, its cfg built here in code (the wheel ships no YAML), training our YOLOv3 module."""
    from ppdet.core.workspace import AttrDict, merge_config
    from ppdet.data.source.dataset import DetDataset
    from ppdet.engine import Trainer as DetTrainer

    class Records(DetDataset):
        def __init__(self, records):
            super().__init__()
            self.roidbs = records

        def check_or_download_dataset(self):
            pass

        def parse_dataset(self):
            pass

    images = data.train.split.images
    yolo = build_yolo(cfg.model, OmegaConf.to_container(cfg.reg), images.shape[1], len(CLASSES),
                      images.shape[-1] / IMAGE_SIZE)
    model_cfg = cfg.model
    merge_config({
        "num_classes": 6,  # a shared key: ppdet's Gt2YoloTarget reads it from the global config
        "TrainReader": {
            "sample_transforms": [{"RandomFlip": {}}],
            "batch_transforms": [{"NormalizeBox": {}}, {"PadBox": {"num_max_boxes": cfg.data.max_boxes}},
                                 {"BboxXYXY2XYWH": {}}, {"Permute": {}},
                                 {"Gt2YoloTarget": {"anchors": [list(a) for a in model_cfg.anchors],
                                                    "anchor_masks": [list(m) for m in model_cfg.anchor_masks],
                                                    "downsample_ratios": [32, 16, 8], "num_classes": 6}}],
            "batch_size": cfg.train.batch_size, "shuffle": True, "drop_last": True, "use_shared_memory": False},
        "LearningRate": {"base_lr": cfg.optim.lr, "schedulers": [{"name": "PiecewiseDecay", "gamma": [1.0],
                                                                   "milestones": [10_000], "use_warmup": False}]},
        "OptimizerBuilder": {"optimizer": {"type": "Momentum", "momentum": cfg.optim.momentum},
                             "regularizer": {"type": "L2", "factor": cfg.optim.weight_decay}},
    })
    trainer_cfg = AttrDict(architecture="YOLOv3", model=yolo, TrainDataset=Records(samples), worker_num=0,
                           TestReader={"sample_transforms": []}, epoch=2, log_iter=10_000, snapshot_epoch=10_000,
                           save_dir=str(folder), use_gpu=False, use_xpu=False, use_mlu=False, use_npu=False,
                           metric="VOC", filename="bench", weights="")
    from ppdet.core.workspace import global_config

    global_config["TrainDataset"] = trainer_cfg.TrainDataset
    trainer = DetTrainer(trainer_cfg, mode="train")
    clock = StepClock()
    trainer._compose_callback._callbacks = [clock]  # no logging or checkpoint writing inside the timed epoch
    return trainer, clock


def theirs(cfg, data, samples: list[dict], folder: Path) -> float:
    trainer, clock = ppdet_trainer(cfg, data, samples, folder)
    trainer.train()
    return (clock.ended - clock.started) / len(trainer.loader)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    logging.getLogger("ppdet").setLevel(logging.WARNING)
    prepare(threads=1)  # Paddle's own default, which both sides ran with before
    paddle.set_device("cpu")
    cfg = run_config(args.steps)
    data = get_task("pcb").load_data(cfg, data_root(None))
    samples = ppdet_samples(data, cfg.data.train_crop, seed=0)
    print(f"quick model: {cfg.model.backbone} ×{cfg.model.width}, neck {cfg.model.neck}, crops {cfg.data.train_crop}²,"
          f" batch {cfg.train.batch_size}, {args.steps} steps per round")
    ratios = []
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.rounds):
            paddle.seed(r)
            a = ours(cfg, data, Path(tmp) / f"ours{r}")
            paddle.seed(r)
            b = theirs(cfg, data, samples, Path(tmp) / f"ppdet{r}")
            ratios.append(a / b)
            print(f"round {r}: ours {a * 1000:.0f} ms/step, ppdet Trainer {b * 1000:.0f} ms/step, ratio {a / b:.3f}")
    print(f"median ratio ours / ppdet: {statistics.median(ratios):.3f} (goal ≤ 0.70)")


if __name__ == "__main__":
    main()
