"""The training augmentations of each image: config.yml's augment section, one key each.

make_augment gives what each training image goes through as it is loaded (data.ImageDataset applies it);
mixup and cutmix mix whole batches on the device (deep/mixing.py). A new augmentation is a key in config.yml's
augment section, its row in config_keys.py, and a line here.
"""
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
