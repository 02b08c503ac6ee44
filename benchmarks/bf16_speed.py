"""What bf16 autocast buys the default on a CPU, at batch 8 and 16, side by side in one process.

Rows (``row_speed.compare``): the default in fp32 and under ``trainer.precision=bf16-mixed``,
each at the default batch of 8 and at 16. On a CPU with native bf16 (AVX-512 BF16 or AMX)
autocast pays; elsewhere torch emulates bf16 and the bf16 rows run several times slower,
which the script says before it starts.

    python benchmarks/bf16_speed.py                  # 1 thread, as the study's jobs
    python benchmarks/bf16_speed.py --threads 2 --rounds 3
"""

from __future__ import annotations

from functools import partial

from row_speed import arguments, compare, images_per_second

from dcgan_lab.training.precision import native_bf16_cpu

BF16 = "trainer.precision=bf16-mixed"
ROWS = {
    "fp32, batch 8 (the default)": [],
    "bf16-mixed, batch 8": [BF16],
    "fp32, batch 16": ["data.batch_size=16"],
    "bf16-mixed, batch 16": [BF16, "data.batch_size=16"],
}


def main() -> None:
    args = arguments(__doc__.splitlines()[0])
    if not native_bf16_cpu():
        print("this CPU has no native bf16: the bf16 rows measure torch's emulation")
    rows = {name: partial(images_per_second, overrides) for name, overrides in ROWS.items()}
    compare(rows, args, "the default config")


if __name__ == "__main__":
    main()
