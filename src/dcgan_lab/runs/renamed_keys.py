"""Old spellings of renamed config keys and groups: still accepted on the command line and
in replayed run folders, rewritten to today's with a one-line note each."""

from __future__ import annotations

# Old key or group -> today's.
RENAMED = {
    "optimizers": "optimizer_pair",  # one letter from the per-network group `optimizer`
    "model.ema_decay": "model.ema.decay",
    "model.ema_warmup": "model.ema.warmup",
    "model.ema_span": "model.ema.span",
    "model.score_raw": "model.ema.score_raw",
    "model.compile": "model.speed.compile",
    "model.channels_last": "model.speed.channels_last",
}


def modernise(overrides: list[str]) -> tuple[list[str], list[str]]:
    """The overrides in today's spelling (``+``/``~`` prefixes and values kept), and a note
    for each old spelling met, e.g. ``optimizers=sgd`` -> ``optimizer_pair=sgd``."""
    today, notes = [], []
    for override in overrides:
        key, sep, value = override.partition("=")
        bare = key.lstrip("+~")
        if bare in RENAMED:
            new = RENAMED[bare]
            override = f"{key[: len(key) - len(bare)]}{new}{sep}{value}"
            notes.append(f"{bare} is now {new} (the old spelling still works)")
        today.append(override)
    return today, list(dict.fromkeys(notes))
