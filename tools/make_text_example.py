"""Write the text kind's example into the template: which standard-library package a docstring comes from, laid out
as a Kaggle text competition, and a tiny model folder (a BERT config and a tokenizer trained on the example).

    python3 tools/make_text_example.py      (needs tokenizers; run from the template's root)

It writes {{cookiecutter.project_slug}}/.kinds/text/input/: train.csv (id, text, package), test.csv (id, text),
sample_submission.csv (id, package), and tiny-bert/ (config.json: a 2-layer BERT 64 wide, no weights, so runs start
from random ones; tokenizer.json: a 2,000-token WordPiece vocabulary learned from train.csv alone;
tokenizer_config.json). The texts are the first paragraphs of the docstrings of four packages of this Python
(email, asyncio, unittest, xml): text that ships offline with every Python, and whose words tell the package apart
as a real competition's texts tell their labels, mostly but not always. The test rows' answers go to
tests/text_example_labels.csv (the hidden answers, outside the template). Seeded: the same Python writes the same
files.
"""
import csv
import importlib
import inspect
import json
import pkgutil
import random
import re
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "{{cookiecutter.project_slug}}" / ".kinds" / "text" / "input"
LABELS = ROOT / "tests" / "text_example_labels.csv"
PACKAGES = ["asyncio", "email", "unittest", "xml"]
TRAIN_PER_PACKAGE, TEST_PER_PACKAGE = 90, 25
SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def docstrings(package):
    """Give the first paragraph of every docstring in `package` and its modules: the modules', classes', functions'."""
    found, names = [], [package]
    root = importlib.import_module(package)
    names += [m.name for m in pkgutil.walk_packages(root.__path__, package + ".") if "test" not in m.name.split(".")[1:]
              and not m.name.endswith("__main__")]
    for name in names:
        try:
            module = importlib.import_module(name)
        except Exception:  # a module this platform lacks (e.g. asyncio's Windows ones)
            continue
        objects = [module] + [obj for _, obj in inspect.getmembers(module) if getattr(obj, "__module__", "") == name]
        objects += [m for obj in objects if inspect.isclass(obj) for _, m in inspect.getmembers(obj)
                    if inspect.isfunction(m) and m.__module__ == name]
        for obj in objects:
            text = (inspect.getdoc(obj) or "").split("\n\n")[0]
            text = re.sub(r"\s+", " ", text).strip()
            if 40 <= len(text) <= 600:
                found.append(text)
    return sorted(set(found))


def main():
    rng = random.Random(7)
    rows = []
    for package in PACKAGES:
        texts = docstrings(package)
        rng.shuffle(texts)
        need = TRAIN_PER_PACKAGE + TEST_PER_PACKAGE
        assert len(texts) >= need, f"{package}: only {len(texts)} docstrings"
        rows += [(text, package, k < TRAIN_PER_PACKAGE) for k, text in enumerate(texts[:need])]
    rng.shuffle(rows)
    train = [(f"tr{k:04d}", text, package) for k, (text, package, is_train) in enumerate(r for r in rows if r[2])]
    test = [(f"te{k:04d}", text, package) for k, (text, package, _) in enumerate(r for r in rows if not r[2])]
    shutil.rmtree(OUT, ignore_errors=True)
    OUT.mkdir(parents=True)
    write(OUT / "train.csv", ["id", "text", "package"], train)
    write(OUT / "test.csv", ["id", "text"], [(i, text) for i, text, _ in test])
    write(OUT / "sample_submission.csv", ["id", "package"], [(i, PACKAGES[0]) for i, _, _ in test])
    write(LABELS, ["id", "package"], [(i, package) for i, _, package in test])
    make_model_folder(OUT / "tiny-bert", [text for _, text, _ in train])
    print(f"wrote {len(train)} train and {len(test)} test rows to {OUT}")


def write(path, header, rows):
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def make_model_folder(folder, texts):
    """Write a Hugging Face model folder without weights: a tiny BERT's config and a tokenizer learned from `texts`."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers

    tokenizer = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tokenizer.normalizer = normalizers.BertNormalizer(lowercase=True)
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tokenizer.decoder = decoders.WordPiece()
    tokenizer.train_from_iterator(texts, trainers.WordPieceTrainer(vocab_size=2000, special_tokens=SPECIAL))
    cls, sep = tokenizer.token_to_id("[CLS]"), tokenizer.token_to_id("[SEP]")
    tokenizer.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1", special_tokens=[("[CLS]", cls), ("[SEP]", sep)])
    folder.mkdir(parents=True)
    tokenizer.save(str(folder / "tokenizer.json"))
    settings = {"tokenizer_class": "PreTrainedTokenizerFast", "model_max_length": 256, "pad_token": "[PAD]",
                "unk_token": "[UNK]", "cls_token": "[CLS]", "sep_token": "[SEP]", "mask_token": "[MASK]"}
    (folder / "tokenizer_config.json").write_text(json.dumps(settings, indent=2) + "\n")
    config = {"model_type": "bert", "architectures": ["BertModel"], "vocab_size": tokenizer.get_vocab_size(),
              "hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 128,
              "hidden_act": "gelu", "hidden_dropout_prob": 0.1, "attention_probs_dropout_prob": 0.1,
              "max_position_embeddings": 256, "type_vocab_size": 2, "initializer_range": 0.02,
              "layer_norm_eps": 1e-12, "pad_token_id": tokenizer.token_to_id("[PAD]")}
    (folder / "config.json").write_text(json.dumps(config, indent=2) + "\n")


if __name__ == "__main__":
    main()
