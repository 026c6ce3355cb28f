"""Lists of names (classes, columns) inside messages, readable even when a name holds a comma."""


def listed(names):
    """Give the names joined with ', ', each quoted when any of them holds a comma ('a, b', 'c' is two names)."""
    texts = [str(name) for name in names]
    if any("," in text or text != text.strip() for text in texts):
        return ", ".join(repr(text) for text in texts)
    return ", ".join(texts)
