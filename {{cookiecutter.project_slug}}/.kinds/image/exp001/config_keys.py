"""This kind's rows of the config checks (deep/checks.py holds the rest): where the images are, how they are sized
and normalized, their augmentations and TTA. A row: (dotted key, what its value must be, the fix the message gives,
the value that turns it off). A new key of the image kind is one row here and its line in config.yml."""
from deep.values import NO_OFF, boolean, null_or, number, numbers, one_of, pattern, whole

KEYS = [
    ("data.image", pattern, "a path pattern relative to data.dir with a column in braces, e.g. train_images/{id}.png.",
     NO_OFF),
    ("data.test_image", pattern, "a path pattern relative to data.dir with a column in braces, e.g. "
                                 "test_images/{id}.png.", NO_OFF),
    ("data.allow_outside", lambda v: isinstance(v, list) and all(isinstance(f, str) for f in v),
     "a list of folders, relative to the project root, e.g. [data/extra_images]; [] for none.", []),
    ("image.size", lambda v: whole()(v) or numbers(2, whole())(v), "a number of pixels (224), or [height, width].",
     NO_OFF),
    ("image.mean", numbers(3), "three numbers, one per channel (RGB).", NO_OFF),
    ("image.std", numbers(3, number(above=0)), "three numbers above 0, one per channel (RGB): the pixels are divided "
                                              "by them.", NO_OFF),
    ("image.resize", one_of("squash", "pad", "crop"), "squash (stretched), pad (whole, on white) or crop (the centre).",
     "squash"),
    ("augment.hflip", number(0, 1), "a probability from 0 (off) to 1.", 0),
    ("augment.vflip", number(0, 1), "a probability from 0 (off) to 1.", 0),
    ("augment.random_resized_crop", null_or(numbers(2, number(above=0, high=1))),
     "null, or the [smallest, largest] share of the image to crop, e.g. [0.8, 1.0].", None),
    ("augment.rotate", number(0, 180), "the largest angle in degrees, from 0 (off) to 180.", 0),
    ("augment.color_jitter", number(0, 1), "a share from 0 (off) to 1, e.g. 0.2.", 0),
    ("augment.randaugment", null_or(whole(0)), "null (off), or RandAugment's magnitude from 0 to 30, e.g. 9.", None),
    ("tta.hflip", boolean, "true or false.", False),
    ("tta.vflip", boolean, "true or false.", False),
]


def crop_is_ordered(cfg):
    crop = cfg["augment"]["random_resized_crop"]
    if crop is not None and crop[0] > crop[1]:
        return "augment.random_resized_crop", "the smallest share first, e.g. [0.8, 1.0]."


RULES = [crop_is_ordered]  # rules that tie two keys of this kind together
