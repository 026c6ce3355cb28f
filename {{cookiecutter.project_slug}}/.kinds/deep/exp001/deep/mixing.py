"""mixup and cutmix: a training batch blended with a shuffled copy of itself, for any kind whose inputs are
(N, C, H, W) tensors (images, spectrograms). augment.mixup, augment.cutmix and augment.mix_prob say how often."""
import torch


def mix_batch(cfg, x, y, n_classes):
    """Give (x, y) with mixup or cutmix applied to this batch (augment.mixup / cutmix alphas, augment.mix_prob).

    mixup blends whole images: lam * x + (1 - lam) * x[perm]; cutmix pastes a box of x[perm] covering 1 - lam of
    the image; the targets (multiclass: as class probabilities) mix by the same lam. With both on, each mixed batch
    takes one at random. Draws from torch's own generator, which a resumed run restores.
    """
    spec = cfg.get("augment") or {}  # a kind without these keys (text) never mixes
    kinds = [(name, spec[name]) for name in ("mixup", "cutmix") if spec.get(name)]
    if not kinds or float(torch.rand(())) >= spec["mix_prob"]:
        return x, y  # off: not one random number drawn, so runs without it stay as they were
    name, alpha = kinds[int(torch.randint(len(kinds), ()))]
    lam = float(torch.distributions.Beta(alpha, alpha).sample())
    perm = torch.randperm(len(x)).to(x.device)
    if name == "cutmix":
        h, w = x.shape[2:]
        cut_h, cut_w = int(h * (1 - lam) ** 0.5), int(w * (1 - lam) ** 0.5)
        top, left = int(torch.randint(h - cut_h + 1, ())), int(torch.randint(w - cut_w + 1, ()))
        x = x.clone()
        x[:, :, top:top + cut_h, left:left + cut_w] = x[perm, :, top:top + cut_h, left:left + cut_w]
        lam = 1 - cut_h * cut_w / (h * w)  # the share of the image that is still its own
    else:
        x = lam * x + (1 - lam) * x[perm]
    if cfg["task"] == "multiclass":
        y = torch.nn.functional.one_hot(y.long(), n_classes).float()
    y = y.float()
    return x, lam * y + (1 - lam) * y[perm]
