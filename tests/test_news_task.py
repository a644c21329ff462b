"""The THUCNews reader, tokenizers, vocabulary, token cache and BiLSTM on tiny generated files."""
from __future__ import annotations

import gzip
import json

import numpy as np
import paddle
import pytest
from omegaconf import OmegaConf

from conftest import NEWS_CLASSES, news_titles, write_news_file
from paddle_reg.errors import UserError
from paddle_reg.task_registry import get_task
from paddle_reg.tasks import news_text
from paddle_reg.tasks.news import BiLSTMClassifier, confusion_matrix, macro_f1
from paddle_reg.tasks.news_text import PAD, UNK, build_vocab, encode, read_titles, save_vocab, \
    tokenize_corpus


def news_cfg(cache, **data):
    base = {"train_size": None, "val_size": 150, "test_size": None, "split_seed": 0, "tokenizer": "char",
            "min_freq": 1, "max_vocab": None, "max_len": 32, "pretrained_embedding": None}
    model = {"embed_dim": 16, "hidden": 16, "layers": 1, "fc": 16, "pooling": "mean", "dropout": {"fc": 0.5, "lstm": 0.0}}
    return OmegaConf.create({"data": {**base, **data}, "model": model, "paths": {"cache_dir": str(cache)}})


def test_titles_round_trip(tmp_path):
    lines = news_titles(30, seed=0)
    write_news_file(tmp_path / "t.txt.gz", lines)
    titles, labels = read_titles(tmp_path / "t.txt.gz", 3)
    assert titles == [t for t, _ in lines] and labels.tolist() == [label for _, label in lines]


BAD_LINES = [
    (b"no tab here", "has no title before a tab"),
    (b"\t1", "has no title before a tab"),
    (b"title\t3", "label '3' is not a class id"),
    (b"title\tx", "label 'x' is not a class id"),
    (b"title\t", "label '' is not a class id"),
    (b"\xff\xfe title\t1", "not UTF-8 text"),
]


@pytest.mark.parametrize("bad,message", BAD_LINES, ids=[m for _, m in BAD_LINES])
def test_bad_line_names_file_and_line(tmp_path, bad, message):
    path = tmp_path / "t.txt.gz"
    path.write_bytes(gzip.compress("好标题\t0\n另一个\t2\n".encode() + bad + b"\n"))
    with pytest.raises(UserError, match=f"{path}:3: .*{message}.*label_id in 0..2"):
        read_titles(path, 3)


def test_missing_file_names_the_path_the_variable_and_the_source(tmp_path):
    with pytest.raises(UserError) as error:
        read_titles(tmp_path / "thucnews" / "train.txt.gz", 10)
    message = str(error.value)
    assert str(tmp_path / "thucnews" / "train.txt.gz") in message and "PADDLE_REG_DATA" in message
    assert "github.com/649453932/Chinese-Text-Classification-Pytorch" in message


def test_non_gzip_and_empty_files_are_refused(tmp_path):
    (tmp_path / "plain.txt.gz").write_text("标题\t0\n")
    with pytest.raises(UserError, match="not a complete gzip file"):
        read_titles(tmp_path / "plain.txt.gz", 3)
    (tmp_path / "empty.txt.gz").write_bytes(gzip.compress(b""))
    with pytest.raises(UserError, match="no titles"):
        read_titles(tmp_path / "empty.txt.gz", 3)


def test_char_vocab_comes_from_training_titles_and_decodes_back():
    texts = {"train": (["股市大涨", "股市下跌"], np.array([0, 0])), "test": (["房价大涨了"], np.array([1]))}
    corpus = tokenize_corpus(texts, news_text.char_tokens)
    vocab = build_vocab(corpus.splits["train"], corpus.table, min_freq=1, max_size=None)
    assert vocab[:4] == [PAD, UNK, "股", "市"]  # most frequent first, ties in first-seen order
    assert "房" not in vocab and "了" not in vocab  # test-only characters stay unknown
    train = encode(corpus.splits["train"], corpus.table, vocab, max_len=6)
    assert ["".join(vocab[i] for i in row if i) for row in train] == ["股市大涨", "股市下跌"]
    assert train[:, 4:].tolist() == [[0, 0], [0, 0]]
    test = encode(corpus.splits["test"], corpus.table, vocab, max_len=3)
    assert [vocab[i] for i in test[0]] == [UNK, UNK, "大"]  # cut after max_len tokens
    assert build_vocab(corpus.splits["train"], corpus.table, min_freq=2, max_size=None) == [PAD, UNK, "股", "市"]
    assert build_vocab(corpus.splits["train"], corpus.table, min_freq=1, max_size=3) == [PAD, UNK, "股"]


def test_vocab_json_round_trip(tmp_path):
    vocab = [PAD, UNK, "股", "\t", "市场"]
    save_vocab(vocab, tmp_path / "vocab.json")
    assert json.loads((tmp_path / "vocab.json").read_text(encoding="utf-8")) == vocab


def test_jieba_words_round_trip():
    cut = news_text.make_tokenizer("jieba")
    titles = ["中国股市今天大涨", "北京楼盘房价下跌"]
    corpus = tokenize_corpus({"train": (titles, np.array([0, 1]))}, cut)
    vocab = build_vocab(corpus.splits["train"], corpus.table, 1, None)
    ids = encode(corpus.splits["train"], corpus.table, vocab, max_len=16)
    words = [[vocab[i] for i in row if i] for row in ids]
    assert ["".join(w) for w in words] == titles
    assert any(len(word) > 1 for row in words for word in row)  # words, not characters
    assert words[0] == cut(titles[0])


def test_second_load_reuses_the_cache_without_tokenizing(news_root, tmp_path, monkeypatch):
    task, cfg = get_task("news"), news_cfg(tmp_path / "cache")
    before = sorted(p.name for p in (news_root / "thucnews").iterdir())
    first = task.load_data(cfg, news_root)
    entries = list((tmp_path / "cache" / "news").iterdir())
    assert len(entries) == 1 and {p.suffix for p in entries[0].iterdir()} == {".json", ".npz"}
    assert sorted(p.name for p in (news_root / "thucnews").iterdir()) == before  # nothing written to the data root

    def no_tokenizing(name):
        raise AssertionError("tokenized again although the cache holds this corpus")

    monkeypatch.setattr(news_text, "make_tokenizer", no_tokenizing)
    second = task.load_data(cfg, news_root)
    assert second.vocab == first.vocab
    for split in ("train", "val", "test"):
        assert np.array_equal(getattr(second, split).inputs, getattr(first, split).inputs)
    assert len(task.load_data(news_cfg(tmp_path / "cache", train_size=300), news_root).train) == 300


def test_changed_data_file_gets_a_new_cache_entry(news_root, tmp_path):
    task, cfg = get_task("news"), news_cfg(tmp_path / "cache")
    task.load_data(cfg, news_root)
    write_news_file(news_root / "thucnews" / "test.txt.gz", news_titles(60, seed=9))
    assert len(task.load_data(cfg, news_root).test) == 60
    assert len(list((tmp_path / "cache" / "news").iterdir())) == 2


def test_splits_are_stratified_subsets(news_root, tmp_path):
    data = get_task("news").load_data(news_cfg(tmp_path / "cache", train_size=300, test_size=90), news_root)
    assert (len(data.train), len(data.val), len(data.test)) == (300, 150, 90)
    assert np.bincount(data.train.labels).tolist() == [100, 100, 100]
    assert data.classes == NEWS_CLASSES and data.vocab[:2] == [PAD, UNK]
    assert data.train.inputs.dtype == np.int64 and data.train.inputs.shape[1] == 32


@pytest.mark.parametrize("pooling", ["mean", "max"])
def test_model_shapes_and_padding_do_not_change_the_output(pooling):
    paddle.seed(0)
    model = BiLSTMClassifier(50, 4, embed_dim=8, hidden=6, layers=2, fc=5, pooling=pooling, fc_p=0.5)
    ids = paddle.to_tensor(np.array([[3, 4, 5, 0, 0], [7, 8, 9, 10, 11]], dtype=np.int64))
    model.eval()
    logits = model(ids)
    assert logits.shape == [2, 4]
    padded = paddle.concat([ids, paddle.zeros([2, 3], dtype="int64")], axis=1)
    np.testing.assert_allclose(model(padded).numpy(), logits.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(model(ids[:1, :3]).numpy(), logits[:1].numpy(), rtol=1e-5, atol=1e-6)


def test_model_dropout_is_on_in_train_mode_only():
    paddle.seed(0)
    model = BiLSTMClassifier(50, 4, embed_dim=8, hidden=6, fc=32, fc_p=0.5)
    ids = paddle.to_tensor(np.arange(2, 26, dtype=np.int64).reshape(4, 6))
    model.train()
    assert not np.allclose(model(ids).numpy(), model(ids).numpy())
    model.eval()
    assert np.array_equal(model(ids).numpy(), model(ids).numpy())
    names = [name for name, _ in model.named_parameters()]
    assert names[0] == "embedding.weight" and names[-4:] == ["fc.weight", "fc.bias", "classifier.weight",
                                                               "classifier.bias"]
    assert "pooling=mean" in repr(model) and "Dropout" in repr(model)


def test_confusion_and_macro_f1():
    labels, predictions = np.array([0, 0, 1, 1, 2]), np.array([0, 1, 1, 1, 0])
    confusion = confusion_matrix(labels, predictions, 3)
    assert confusion.tolist() == [[1, 1, 0], [0, 2, 0], [1, 0, 0]]
    assert macro_f1(confusion) == pytest.approx((2 / 4 + 4 / 5 + 0) / 3)


def test_one_pass_gives_the_metrics_and_the_confusion_matrix(news_root, tmp_path):
    task = get_task("news")
    data = task.load_data(news_cfg(tmp_path / "cache"), news_root)
    model = task.build_model(news_cfg(tmp_path / "cache"), data)
    evaluation = task.evaluate(model, data, "test")
    assert set(evaluation.metrics) == {"loss", "accuracy", "error", "macro_f1"}
    confusion = evaluation.details["confusion"]
    assert confusion["labels"] == ["财经 finance", "房产 realty", "体育 sports"]
    assert np.array(confusion["matrix"]).sum() == len(data.test)
    assert np.trace(confusion["matrix"]) / len(data.test) == pytest.approx(evaluation.metrics["accuracy"])
    json.dumps(confusion)


def test_pretrained_embedding_fills_the_rows_it_knows(news_root, tmp_path):
    extras = news_root / "thucnews" / "extras"
    extras.mkdir()
    upstream = {"股": 0, "房": 1, "<UNK>": 2, "<PAD>": 3}
    vectors = np.arange(16, dtype=np.float64).reshape(4, 4)
    np.savez(extras / "emb.npz", embeddings=vectors)
    (extras / "vocab.json").write_text(json.dumps(upstream, ensure_ascii=False), encoding="utf-8")
    task = get_task("news")
    cfg = news_cfg(tmp_path / "cache", pretrained_embedding="extras/emb.npz")
    with pytest.raises(UserError, match="model.embed_dim=16 but extras/emb.npz holds 4-d vectors"):
        task.load_data(cfg, news_root)
    cfg.model.embed_dim = 4
    data = task.load_data(cfg, news_root)
    weight = task.build_model(cfg, data).embedding.weight.numpy()
    assert np.array_equal(weight[data.vocab.index("股")], vectors[0])
    assert np.array_equal(weight[data.vocab.index("房")], vectors[1])
    assert not np.array_equal(weight[data.vocab.index("球")], np.zeros(4))  # unknown rows keep their random init


def test_extended_regimes_swap_their_layers_in():
    plain = BiLSTMClassifier(50, 4)
    assert plain.embedding_dropout is None and plain.noise is None and type(plain.fc).__name__ == "Linear"
    model = BiLSTMClassifier(50, 4, spatial_p=0.2, gaussian_p=0.5, dropconnect_p=0.5)
    assert type(model.embedding_dropout).__name__ == "SpatialDropout1D" and model.embedding_dropout.p == 0.2
    assert type(model.noise).__name__ == "GaussianDropout" and type(model.fc).__name__ == "DropConnectLinear"
    ids = paddle.to_tensor(np.arange(2, 26, dtype=np.int64).reshape(4, 6))
    model.eval()
    assert np.array_equal(model(ids).numpy(), model(ids).numpy())
