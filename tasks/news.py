"""THUCNews titles: embedding → BiLSTM → pooling → fc → ReLU → Dropout → classifier (article P, claim E1)."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import paddle
import paddle.nn.functional as F
from omegaconf import DictConfig, OmegaConf
from paddle import nn

from paddle_reg.classification import ArraySplit, ClassificationTask, stratified_subset
from paddle_reg.errors import UserError
from paddle_reg.regularizers import DropConnectLinear, Dropout, GaussianDropout, SpatialDropout1D
from paddle_reg.runtime import train_subset_seed
from paddle_reg.task_api import Evaluation, ReportMetric
from paddle_reg.tasks.news_text import (ZH_CLASS_NAMES, build_vocab, cache_root, cached_corpus, encode,
                                        pretrained_rows, save_vocab, tokenizer_settings)

POOLINGS = ("mean", "max")
EVAL_BATCH_SIZE = 256  # the BiLSTM is fastest on the CPU around this size


def masked_mean(x: paddle.Tensor, mask: paddle.Tensor) -> paddle.Tensor:
    """Mean over the title's time steps: Σ_t m_t·x_t / Σ_t m_t."""
    return (x * mask).sum(axis=1) / mask.sum(axis=1).clip(min=1.0)


def masked_max(x: paddle.Tensor, mask: paddle.Tensor) -> paddle.Tensor:
    """Max over the title's time steps (padding pushed to −1e4)."""
    return (x + (mask - 1.0) * 1e4).max(axis=1)


POOL = {"mean": masked_mean, "max": masked_max}


class BiLSTMClassifier(nn.Layer):
    """Token ids (0 = padding) → embedding → BiLSTM → masked pooling → fc → ReLU → Dropout → classifier.

    Extended regimes add: ``spatial_p`` SpatialDropout1D on the embedded tokens (whole embedding channels per title),
    ``gaussian_p`` Gaussian dropout at the fc dropout site, ``dropconnect_p`` a DropConnectLinear as fc.
    """

    def __init__(self, vocab_size: int, classes: int, embed_dim: int = 64, hidden: int = 64, layers: int = 1,
                 fc: int = 128, pooling: str = "mean", fc_p: float = 0.5, lstm_p: float = 0.0,
                 spatial_p: float | None = None, gaussian_p: float | None = None, dropconnect_p: float | None = None):
        super().__init__()
        self.pooling = pooling
        self.embedding = nn.Embedding(vocab_size, embed_dim, padding_idx=0)
        self.embedding_dropout = SpatialDropout1D(spatial_p, "NLC") if spatial_p else None
        self.lstm = nn.LSTM(embed_dim, hidden, num_layers=layers, direction="bidirect", dropout=lstm_p)
        self.fc = DropConnectLinear(2 * hidden, fc, dropconnect_p) if dropconnect_p else nn.Linear(2 * hidden, fc)
        self.act = nn.ReLU()
        self.dropout = Dropout(fc_p)
        self.noise = GaussianDropout(gaussian_p) if gaussian_p else None
        self.classifier = nn.Linear(fc, classes)

    def forward(self, ids: paddle.Tensor) -> paddle.Tensor:
        mask = (ids != 0).astype("float32")
        lengths = mask.sum(axis=1).astype("int64")
        embedded = self.embedding(ids)
        if self.embedding_dropout is not None:
            embedded = self.embedding_dropout(embedded)
        states, _ = self.lstm(embedded, sequence_length=lengths)
        hidden = self.dropout(self.act(self.fc(POOL[self.pooling](states, mask.unsqueeze(-1)))))
        return self.classifier(hidden if self.noise is None else self.noise(hidden))

    def extra_repr(self) -> str:
        return f"pooling={self.pooling}"


@dataclass
class NewsData:
    train: ArraySplit  # inputs: int64 token ids [titles, max_len], 0-padded
    val: ArraySplit
    test: ArraySplit
    classes: list[str]  # class.txt names, index = label id
    vocab: list[str]  # token of each id: <pad>, <unk>, then the training titles' tokens
    pretrained: tuple[np.ndarray, np.ndarray] | None = None  # embedding rows for vocab and which of them are known


def check_options(cfg: DictConfig) -> None:
    """The task's own options, checked before anything is trained."""
    tokenizer_settings(cfg.data.tokenizer)
    fields = ["data.min_freq", "data.max_len", "model.embed_dim", "model.hidden", "model.layers", "model.fc"]
    for field in fields + (["data.test_size"] if cfg.data.test_size is not None else []):
        value = OmegaConf.select(cfg, field)
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise UserError(f"{field}={value} must be a positive integer")
    if cfg.data.max_vocab is not None and (not isinstance(cfg.data.max_vocab, int) or cfg.data.max_vocab < 3):
        raise UserError(f"data.max_vocab={cfg.data.max_vocab} must be null or an integer >= 3 (<pad>, <unk>, a token)")
    if cfg.model.pooling not in POOLINGS:
        raise UserError(f"model.pooling={cfg.model.pooling} is unknown: choose one of {', '.join(POOLINGS)}")


def class_label(name: str) -> str:
    """``财经 finance`` for a known THUCNews class, else the class.txt name."""
    return f"{ZH_CLASS_NAMES[name]} {name}" if name in ZH_CLASS_NAMES else name


def confusion_matrix(labels: np.ndarray, predictions: np.ndarray, classes: int) -> np.ndarray:
    """``[true, predicted]`` counts."""
    return np.bincount(labels * classes + predictions, minlength=classes * classes).reshape(classes, classes)


def macro_f1(confusion: np.ndarray) -> float:
    """Mean over classes of 2·TP / (2·TP + FP + FN); a class never true nor predicted scores 0."""
    tp = np.diag(confusion).astype(float)
    denominator = confusion.sum(axis=0) + confusion.sum(axis=1)
    return float(np.mean(np.divide(2 * tp, denominator, out=np.zeros_like(tp), where=denominator > 0)))


def trimmed(ids: np.ndarray) -> np.ndarray:
    """``ids`` without the padding columns every row has: the BiLSTM's time loop runs over fewer steps."""
    return ids[:, : max(1, int((ids != 0).sum(axis=1).max()))]


@paddle.no_grad()
def predict(model: nn.Layer, part: ArraySplit) -> tuple[float, np.ndarray]:
    """Summed cross-entropy and the predicted class of every title, in eval mode (batched by title length)."""
    was_training = model.training
    model.eval()
    order = np.argsort((part.inputs != 0).sum(axis=1), kind="stable")
    loss_sum, predictions = 0.0, np.empty(len(part), dtype=np.int64)
    for start in range(0, len(part), EVAL_BATCH_SIZE):
        index = order[start:start + EVAL_BATCH_SIZE]
        logits = model(paddle.to_tensor(trimmed(part.inputs[index])))
        loss_sum += float(F.cross_entropy(logits, paddle.to_tensor(part.labels[index]), reduction="sum"))
        predictions[index] = logits.argmax(axis=-1).numpy()
    if was_training:
        model.train()
    return loss_sum, predictions


class NewsTask(ClassificationTask):
    name = "news"
    regularizers = ClassificationTask.regularizers + ("dropout", "spatial", "gaussian", "dropconnect")
    metrics = ClassificationTask.metrics + ("macro_f1",)
    report_metrics = ClassificationTask.report_metrics + (
        ReportMetric("test_macro_f1", "test_macro_f1", "test macro-F1", "%", 100, better="higher"),
        ReportMetric("val_accuracy", "val_accuracy", "val accuracy", "%", 100, better="higher"),
    )

    def batch_inputs(self, ids: np.ndarray) -> paddle.Tensor:
        return paddle.to_tensor(trimmed(ids))

    def check(self, cfg: DictConfig) -> None:
        check_options(cfg)

    def load_data(self, cfg: DictConfig, root: Path) -> NewsData:
        cache = cache_root(OmegaConf.select(cfg, "paths.cache_dir", default=None))
        corpus, classes, entry = cached_corpus(Path(root) / "thucnews", cache, cfg.data.tokenizer)
        train, val, test = (corpus.splits[split] for split in ("train", "val", "test"))
        if cfg.data.train_size is not None:
            train = train.subset(stratified_subset(train.labels, cfg.data.train_size, train_subset_seed(cfg)))
        val = val.subset(stratified_subset(val.labels, cfg.data.val_size, cfg.data.split_seed))
        if cfg.data.test_size is not None:
            test = test.subset(stratified_subset(test.labels, cfg.data.test_size, cfg.data.split_seed))
        vocab = build_vocab(train, corpus.table, cfg.data.min_freq, cfg.data.max_vocab)
        vocab_key = {k: cfg.data[k] for k in ("train_size", "min_freq", "max_vocab")}
        vocab_key["split_seed"] = train_subset_seed(cfg)  # the seed the training titles were drawn with
        vocab_path = entry / f"vocab-{hashlib.sha256(json.dumps(vocab_key, sort_keys=True).encode()).hexdigest()[:10]}.json"
        if not vocab_path.is_file():
            save_vocab(vocab, vocab_path)
        pretrained = None
        if cfg.data.pretrained_embedding:
            pretrained = pretrained_rows(Path(root) / "thucnews" / cfg.data.pretrained_embedding, vocab)
            if pretrained[0].shape[1] != cfg.model.embed_dim:
                raise UserError(f"model.embed_dim={cfg.model.embed_dim} but {cfg.data.pretrained_embedding} holds "
                                f"{pretrained[0].shape[1]}-d vectors: set model.embed_dim={pretrained[0].shape[1]}")
        pick = lambda part: ArraySplit(encode(part, corpus.table, vocab, cfg.data.max_len), part.labels)  # noqa: E731
        return NewsData(pick(train), pick(val), pick(test), classes, vocab, pretrained)

    def build_model(self, cfg: DictConfig, data: NewsData) -> BiLSTMClassifier:
        m, reg = cfg.model, cfg.get("reg") or {}
        model = BiLSTMClassifier(len(data.vocab), len(data.classes), m.embed_dim, m.hidden, m.layers, m.fc, m.pooling,
                                 fc_p=m.dropout.fc, lstm_p=m.dropout.lstm, spatial_p=reg.get("spatial"),
                                 gaussian_p=reg.get("gaussian"), dropconnect_p=reg.get("dropconnect"))
        if data.pretrained is not None:
            vectors, known = data.pretrained
            weight = model.embedding.weight.numpy()
            weight[known] = vectors[known]
            model.embedding.weight.set_value(weight)
        return model

    def evaluate(self, model, data: NewsData, split: str) -> Evaluation:
        part: ArraySplit = getattr(data, split)
        loss_sum, predictions = predict(model, part)
        confusion = confusion_matrix(part.labels, predictions, len(data.classes))
        accuracy = float(np.trace(confusion)) / len(part)
        return Evaluation({"loss": loss_sum / len(part), "accuracy": accuracy, "error": 1.0 - accuracy,
                           "macro_f1": macro_f1(confusion)},
                          {"confusion": {"labels": [class_label(c) for c in data.classes], "matrix": confusion.tolist()}})


TASK = NewsTask()
