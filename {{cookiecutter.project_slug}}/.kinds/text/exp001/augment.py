"""Augmenting a training text: augment.token_dropout hides a share of its tokens, so the model cannot lean on a few
words. Validation and test texts are never changed (train.py asks for this on training folds only)."""
import torch

from network import load_tokenizer


def make_augment(cfg):
    """Give f(token ids) -> token ids for training texts, or None when every augmentation is off."""
    share = cfg["augment"]["token_dropout"]
    if not share:
        return None
    tokenizer = load_tokenizer(cfg)
    hidden = tokenizer.mask_token_id if tokenizer.mask_token_id is not None else tokenizer.unk_token_id
    keep = set(tokenizer.all_special_ids)  # [CLS], [SEP], ...: where a text starts and ends stays marked

    def augment(ids):
        # torch's generator, which a resumed run restores: the same tokens are hidden after a stop
        drop = torch.rand(len(ids)) < share
        drop &= torch.tensor([int(t) not in keep for t in ids])
        return torch.where(drop, torch.full_like(ids, hidden), ids)

    return augment
