"""This kind's rows of the config checks (deep/checks.py holds the rest): which columns are the text, the
transformer and how its states become one vector, LoRA, and what training a transformer adds. A row: (dotted key,
what its value must be, the fix the message gives, the value that turns it off). A row here for a shared key
replaces the shared one; NOT_USED names the shared keys a text has no use for. A new key of the text kind is one
row here and its line in config.yml."""
import re

from deep.values import NO_OFF, boolean, number, one_of, whole

LORA_KEYS = {"r", "alpha", "dropout", "target_modules"}  # and merge, true when left out


def columns(v):
    return isinstance(v, str) and v != "" or (isinstance(v, list) and v and all(isinstance(c, str) for c in v))


def lora(v):
    return v is None or (isinstance(v, dict) and LORA_KEYS <= set(v) <= LORA_KEYS | {"merge"} and whole()(v["r"])
                         and number(above=0)(v["alpha"]) and number(0, 0.999)(v["dropout"])
                         and columns(v["target_modules"]) and boolean(v.get("merge", True)))


def kaggle_source(v):  # a Kaggle Model's owner/model/framework/variation/version, or a dataset's owner/slug
    return v is None or isinstance(v, str) and re.fullmatch(r"[^/\s]+/[^/\s]+(/[^/\s]+/[^/\s]+/\d+)?", v) is not None


KEYS = [
    ("data.text", columns, "the text column, or a list of them (e.g. [prompt, response]).", NO_OFF),
    ("model.name", lambda v: isinstance(v, str) and v != "", "the folder of a Hugging Face model under the project "
                                                             "root, e.g. data/input/deberta-v3-small.", NO_OFF),
    ("model.pretrained", boolean, "true (the folder's weights) or false (random weights from its config.json).",
     NO_OFF),
    ("model.max_length", whole(2), "the most tokens of a text the model reads, e.g. 512.", NO_OFF),
    ("model.pooling", one_of("cls", "mean", "last"), "cls (the first token, encoders), mean (every real token) or "
                                                     "last (the last real token, causal LMs).", NO_OFF),
    ("model.lora", lora, "null (every weight trains), or {r: 8, alpha: 16, dropout: 0.05, target_modules: [query, "
                         "value], merge: true} (adapters on those linear layers; the rest frozen; merge: folded "
                         "into the base weights to predict, or false: kept apart).", None),
    ("model.kaggle_source", kaggle_source, "null, or where model.name comes from on Kaggle: a Model "
                                           "(owner/model/framework/variation/version, e.g. qwen-lm/qwen2.5/"
                                           "transformers/0.5b/1) or a dataset (owner/slug).", None),
    ("train.layer_decay", number(above=0, high=1), "1 (off) or a factor below 1, e.g. 0.9: each layer nearer the "
                                                   "input learns at that share of the next one's rate.", 1),
    ("train.gradient_checkpointing", boolean, "true or false.", False),
    ("augment.token_dropout", number(0, 0.5), "the share of each training text's tokens replaced by the unknown "
                                              "(or mask) token, 0 (off) to 0.5, e.g. 0.1.", 0),
]
# Shared keys for tensors of images and spectrograms; a config.yml of this kind does not hold them.
NOT_USED = ("augment.mixup", "augment.cutmix", "augment.mix_prob", "train.channels_last")


RULES = []  # rules that tie two keys of this kind together
