"""The training augmentations: config.yml's augment section, one key each, and mixup / cutmix of whole batches.

make_augment gives what each training image goes through as it is loaded (data.ImageDataset applies it);
mix_batch mixes a batch on the device, just before the forward pass (train.train_one_epoch). A new
augmentation is a key in config.yml's augment section, its row in image/checks.py, and a line here.
"""
import torch

from data import image_size


def make_augment(cfg):
    """Give the training augmentations from config.yml's augment section, or None when all are off."""
    from torchvision.transforms import v2

    spec, steps = cfg["augment"], []
    if spec["random_resized_crop"]:
        steps.append(v2.RandomResizedCrop(image_size(cfg), scale=tuple(spec["random_resized_crop"]), antialias=True))
    if spec["hflip"]:
        steps.append(v2.RandomHorizontalFlip(spec["hflip"]))
    if spec["vflip"]:
        steps.append(v2.RandomVerticalFlip(spec["vflip"]))
    if spec.get("rotate"):
        steps.append(v2.RandomRotation(spec["rotate"], fill=255))  # corners white, as padding and transparency are
    if spec.get("color_jitter"):
        steps.append(v2.ColorJitter(brightness=spec["color_jitter"], contrast=spec["color_jitter"],
                                    saturation=spec["color_jitter"]))
    if spec.get("randaugment") is not None:
        steps.append(v2.RandAugment(magnitude=spec["randaugment"]))
    return v2.Compose(steps) if steps else None


def mix_batch(cfg, x, y, n_classes):
    """Give (x, y) with mixup or cutmix applied to this batch (augment.mixup / cutmix alphas, augment.mix_prob).

    mixup blends whole images: lam * x + (1 - lam) * x[perm]; cutmix pastes a box of x[perm] covering 1 - lam of
    the image; the targets (multiclass: as class probabilities) mix by the same lam. With both on, each mixed batch
    takes one at random. Draws from torch's own generator, which a resumed run restores.
    """
    spec = cfg["augment"]
    kinds = [(name, spec[name]) for name in ("mixup", "cutmix") if spec[name]]
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
