"""What mode seeking costs per training step, side by side in one process.

Each row is the default config plus the row's overrides, timed side by side
(``row_speed.compare``: rows alternate, round after round; medians and ratios to the
default):

- the default, and the default with a D without dropout (what the mode-seeking rows use);
- mode seeking in pixels (``technique=mode_seeking``: G's pass on the twin latents);
- mode seeking in D's feature space, as it runs: one D pass over [fakes, twins] gives G's
  logits and both feature maps;
- the same with the fakes' logits from a pass of their own (``critic_is_plain`` forced
  off), as it ran before: what the shared pass saves.

    python benchmarks/mode_seeking_cost.py                     # 1 thread, as the study's jobs
    python benchmarks/mode_seeking_cost.py --threads 2 --rounds 5
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from functools import partial

from row_speed import arguments, compare, images_per_second

from dcgan_lab.training.objective import AdversarialObjective

FEATURES = ["technique=mode_seeking", "dropout=none", "model.mode_seeking.space=discriminator",
            "model.mode_seeking.weight=0.6"]  # fmt: skip
ROWS: dict[str, tuple[list[str], bool]] = {  # name: (overrides, D's logits in a pass of their own)
    "the default": ([], False),
    "D without dropout": (["dropout=none"], False),
    "mode seeking, pixels": (["technique=mode_seeking", "dropout=none"], False),
    "mode seeking, D's features (one D pass)": (FEATURES, False),
    "mode seeking, D's features (two D passes)": (FEATURES, True),
}


@contextmanager
def separate_logits_pass() -> Iterator[None]:
    """G's step scores its fakes in their own D pass, as before the passes were shared."""
    saved = AdversarialObjective.critic_is_plain
    AdversarialObjective.critic_is_plain = property(lambda self: False)
    try:
        yield
    finally:
        AdversarialObjective.critic_is_plain = saved


def main() -> None:
    args = arguments(__doc__.splitlines()[0])
    rows = {
        name: partial(images_per_second, overrides,
                      during=separate_logits_pass if separate else nullcontext)
        for name, (overrides, separate) in ROWS.items()
    }  # fmt: skip
    compare(rows, args, "batch 8")


if __name__ == "__main__":
    main()
