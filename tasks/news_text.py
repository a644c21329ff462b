"""THUCNews titles: the ``title<TAB>label`` gzip reader, tokenizers, vocabulary and the token-id cache.

Tokenizing is the slow part (seconds for characters, a minute for jieba words), so every title of
every split is tokenized once per (data files, tokenizer) into a cache folder: ``tokens.json`` (each
distinct token once) and ``splits.npz`` (ragged token indices per split). A run's vocabulary — the
tokens of its training titles — and its padded id arrays derive from that cache in milliseconds.
"""
from __future__ import annotations

import gzip
import hashlib
import json
import logging
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from paddle_reg.datasource import user_cache_dir
from paddle_reg.errors import UserError
from paddle_reg.store import write_atomic

log = logging.getLogger(__name__)

SPLIT_FILES = {"train": "train.txt.gz", "val": "dev.txt.gz", "test": "test.txt.gz"}
CLASS_FILE = "class.txt"
PAD, UNK = "<pad>", "<unk>"  # ids 0 and 1 of every vocabulary
TOKENIZERS = ("char", "jieba")
CACHE_VERSION = 1  # bump when the cache layout changes
SOURCE = "https://github.com/649453932/Chinese-Text-Classification-Pytorch/tree/master/THUCNews/data (gzip the .txt files)"
ZH_CLASS_NAMES = {"finance": "财经", "realty": "房产", "stocks": "股票", "education": "教育", "science": "科技",
                  "society": "社会", "politics": "时政", "sports": "体育", "game": "游戏", "entertainment": "娱乐"}


def read_classes(path: Path) -> list[str]:
    """Class names, line i = label id i."""
    if not path.is_file():
        raise UserError(f"missing data file {path}: set PADDLE_REG_DATA to a folder holding thucnews/{CLASS_FILE} "
                        f"(source: {SOURCE})")
    names = [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    if len(names) < 2:
        raise UserError(f"corrupt data file {path}: {len(names)} class names, need at least 2 (one per line)")
    return names


def read_titles(path: Path, num_classes: int) -> tuple[list[str], np.ndarray]:
    """Titles and int64 labels of a gzip ``title<TAB>label_id`` file; a bad line is a UserError naming ``file:line``."""
    if not path.is_file():
        raise UserError(f"missing data file {path}: set PADDLE_REG_DATA to a folder holding thucnews/{path.name} "
                        f"(source: {SOURCE})")
    titles, labels = [], []
    expected = f"expected 'title<TAB>label_id' with label_id in 0..{num_classes - 1}"
    try:
        with gzip.open(path, "rb") as handle:
            for number, raw in enumerate(handle, start=1):
                where = f"{path}:{number}"
                try:
                    line = raw.decode("utf-8").rstrip("\r\n")
                except UnicodeDecodeError:
                    raise UserError(f"bad line {where}: not UTF-8 text; {expected}") from None
                title, tab, label = line.rpartition("\t")
                if not tab or not title.strip():
                    raise UserError(f"bad line {where}: {line[:40]!r} has no title before a tab; {expected}")
                if not (label.isascii() and label.isdigit()) or int(label) >= num_classes:
                    raise UserError(f"bad line {where}: label {label[:20]!r} is not a class id; {expected}")
                titles.append(title)
                labels.append(int(label))
    except (OSError, EOFError, zlib.error) as exc:
        raise UserError(f"corrupt data file {path}: not a complete gzip file ({exc}); replace it with the original") \
            from None
    if not titles:
        raise UserError(f"corrupt data file {path}: no titles; {expected}")
    return titles, np.array(labels, dtype=np.int64)


def char_tokens(title: str) -> list[str]:
    """One token per character, as the upstream TextRNN."""
    return list(title)


def jieba_tokenizer() -> Callable[[str], list[str]]:
    """Words cut by paddlenlp's ``JiebaTokenizer`` over jieba's own dictionary (every word weighted 1, unlike ``jieba.cut``)."""
    import jieba
    from paddlenlp.data import JiebaTokenizer, Vocab  # imported here: paddlenlp takes seconds to import

    dictionary = Path(jieba.__file__).with_name("dict.txt")
    words = [line.split(" ", 1)[0] for line in dictionary.read_text(encoding="utf-8").splitlines() if line]
    return JiebaTokenizer(Vocab(token_to_idx={w: i for i, w in enumerate(words)}, unk_token=None)).cut


def tokenizer_settings(name: str) -> dict:
    """What the cached tokens depend on, besides the data files."""
    if name not in TOKENIZERS:
        raise UserError(f"data.tokenizer={name} is unknown: choose one of {', '.join(TOKENIZERS)}")
    if name == "char":
        return {"name": "char"}
    import jieba

    return {"name": "jieba", "jieba": jieba.__version__, "cut": "paddlenlp JiebaTokenizer over dict.txt, HMM on"}


def make_tokenizer(name: str) -> Callable[[str], list[str]]:
    return char_tokens if name == "char" else jieba_tokenizer()


@dataclass
class TokenizedSplit:
    """Ragged token indices into a token table: title i is ``tokens[offsets[i]:offsets[i + 1]]``."""

    tokens: np.ndarray  # int32
    offsets: np.ndarray  # int64, len = titles + 1
    labels: np.ndarray  # int64

    def __len__(self) -> int:
        return len(self.labels)

    def subset(self, index: np.ndarray) -> "TokenizedSplit":
        lengths = np.diff(self.offsets)[index]
        pieces = [self.tokens[self.offsets[i]:self.offsets[i + 1]] for i in index]
        tokens = np.concatenate(pieces) if pieces else np.zeros(0, np.int32)
        return TokenizedSplit(tokens, np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64), self.labels[index])


@dataclass
class TokenizedCorpus:
    table: list[str]  # every distinct token of all splits, first-seen order
    splits: dict[str, TokenizedSplit]


def tokenize_corpus(texts: dict[str, tuple[list[str], np.ndarray]], tokenize: Callable[[str], list[str]]) -> TokenizedCorpus:
    index: dict[str, int] = {}
    splits = {}
    for split, (titles, labels) in texts.items():
        tokens, offsets = [], [0]
        for title in titles:
            tokens.extend(index.setdefault(token, len(index)) for token in tokenize(title))
            offsets.append(len(tokens))
        splits[split] = TokenizedSplit(np.array(tokens, np.int32), np.array(offsets, np.int64), labels)
    return TokenizedCorpus(list(index), splits)


def file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def cache_root(configured: str | None) -> Path:
    """``paths.cache_dir``, else the per-user cache dir (``~/.cache/paddle_reg`` on Linux)."""
    return Path(configured).expanduser().resolve() if configured else user_cache_dir()


def corpus_cache_dir(cache: Path, folder: Path, tokenizer: str) -> Path:
    """The cache folder of one (data files' contents, tokenizer settings) pair."""
    key = {"version": CACHE_VERSION, "tokenizer": tokenizer_settings(tokenizer),
           "files": {name: file_digest(folder / name) for name in [CLASS_FILE, *SPLIT_FILES.values()]}}
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]
    return cache / "news" / f"{tokenizer}-{digest}"


def save_corpus(corpus: TokenizedCorpus, folder: Path) -> None:
    arrays = {f"{split}_{field}": getattr(part, field) for split, part in corpus.splits.items()
              for field in ("tokens", "offsets", "labels")}
    def write_npz(tmp: Path) -> None:
        with open(tmp, "wb") as handle:  # a file object: np.savez would append ".npz" to a path
            np.savez(handle, **arrays)

    write_atomic(folder / "splits.npz", write_npz)
    write_atomic(folder / "tokens.json", lambda tmp: tmp.write_text(json.dumps(corpus.table, ensure_ascii=False),
                                                                     encoding="utf-8"))


def load_corpus(folder: Path) -> TokenizedCorpus | None:
    """The cached corpus, or None when it is missing or unreadable (it is then rebuilt)."""
    try:
        table = json.loads((folder / "tokens.json").read_text(encoding="utf-8"))
        with np.load(folder / "splits.npz", allow_pickle=False) as arrays:
            splits = {split: TokenizedSplit(*(arrays[f"{split}_{field}"] for field in ("tokens", "offsets", "labels")))
                      for split in SPLIT_FILES}
    except (OSError, ValueError, KeyError, zipfile.BadZipFile):
        return None
    return TokenizedCorpus(table, splits)


def cached_corpus(folder: Path, cache: Path, tokenizer: str) -> tuple[TokenizedCorpus, list[str], Path]:
    """The tokenized splits, class names and cache entry of ``folder``; tokenizes only when the entry is missing."""
    classes = read_classes(folder / CLASS_FILE)
    entry = corpus_cache_dir(cache, folder, tokenizer)
    corpus = load_corpus(entry)
    if corpus is None:
        log.info("tokenizing %s (%s) into the cache %s", folder, tokenizer, entry)
        texts = {split: read_titles(folder / name, len(classes)) for split, name in SPLIT_FILES.items()}
        corpus = tokenize_corpus(texts, make_tokenizer(tokenizer))
        save_corpus(corpus, entry)
    return corpus, classes, entry


def build_vocab(split: TokenizedSplit, table: list[str], min_freq: int, max_size: int | None) -> list[str]:
    """``<pad>``, ``<unk>``, then the tokens of ``split`` seen ≥ ``min_freq`` times, most frequent first (ties: first seen)."""
    counts = np.bincount(split.tokens, minlength=len(table))
    kept = [i for i in np.argsort(-counts, kind="stable") if counts[i] >= min_freq]
    if max_size is not None:
        kept = kept[: max(0, max_size - 2)]
    return [PAD, UNK] + [table[i] for i in kept]


def encode(split: TokenizedSplit, table: list[str], vocab: list[str], max_len: int) -> np.ndarray:
    """Padded int64 ids ``[titles, max_len]``: unknown tokens → 1, padding → 0, titles cut after ``max_len`` tokens."""
    lookup = {token: i for i, token in enumerate(vocab)}
    table_to_vocab = np.array([lookup.get(token, 1) for token in table] or [1], dtype=np.int64)
    ids = np.zeros((len(split), max_len), dtype=np.int64)
    for row, (start, end) in enumerate(zip(split.offsets[:-1], split.offsets[1:])):
        piece = table_to_vocab[split.tokens[start:min(end, start + max_len)]]
        ids[row, : len(piece)] = piece
    return ids


def pretrained_rows(npz: Path, vocab: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Float32 vectors for ``vocab`` from an upstream embedding (its token → row map: ``vocab.json`` beside it), and which tokens it knows."""
    upstream_vocab = npz.with_name("vocab.json")
    for path in (npz, upstream_vocab):
        if not path.is_file():
            raise UserError(f"missing data file {path}: data.pretrained_embedding needs {npz.name} and vocab.json "
                            f"side by side (thucnews/extras), or set data.pretrained_embedding=null")
    try:
        with np.load(npz, allow_pickle=False) as arrays:
            table = arrays["embeddings"].astype(np.float32)
        rows = json.loads(upstream_vocab.read_text(encoding="utf-8"))
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
        raise UserError(f"corrupt data file {npz} or {upstream_vocab}: {exc}; replace them with the originals") from None
    known = np.array([token in rows for token in vocab])
    vectors = np.zeros((len(vocab), table.shape[1]), dtype=np.float32)
    vectors[known] = table[[rows[token] for token in vocab if token in rows]]
    return vectors, known


def save_vocab(vocab: list[str], path: Path) -> None:
    write_atomic(path, lambda tmp: tmp.write_text(json.dumps(vocab, ensure_ascii=False, indent=0), encoding="utf-8"))

