"""What a config value must be, as small tests for the check tables (deep/checks.py, config_keys.py)."""

NO_OFF = object()  # a key that is no knob: any value of it changes what a run trains


def whole(low=1):
    return lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= low


def number(low=None, high=None, above=None):
    return lambda v: (isinstance(v, (int, float)) and not isinstance(v, bool) and (low is None or v >= low)
                      and (high is None or v <= high) and (above is None or v > above))


def one_of(*choices):
    return lambda v: isinstance(v, (str, bool)) and v in choices


def null_or(test):
    return lambda v: v is None or test(v)


def numbers(n, test=number()):
    return lambda v: isinstance(v, list) and len(v) == n and all(map(test, v))


def pattern(v):
    return isinstance(v, str) and "{" in v


boolean = one_of(True, False)
