"""``dcgan-export ckpt_path=... [format=onnx|torchscript] [out=...]``: the generator as it
samples, in one file that needs neither this package nor the checkpoint."""

from __future__ import annotations

from pathlib import Path

import hydra
from omegaconf import DictConfig

from dcgan_lab.cli.common import (
    config_dir,
    exit_on_user_error,
    require_writable,
    run_with_clear_errors,
)
from dcgan_lab.errors import UserError
from dcgan_lab.export.generator_file import FORMATS, export_generator
from dcgan_lab.models.checks import require_choice
from dcgan_lab.runs.checkpoints import CHECKPOINT_CHOICES, find_checkpoints
from dcgan_lab.runs.run_dir import RunDir
from dcgan_lab.training.loading import load_module


def default_out(ckpt: Path, fmt: str) -> Path:
    """<run dir>/export/generator.<ext>, or beside a checkpoint outside a run folder."""
    run = RunDir.of_checkpoint(ckpt)
    folder = run.root / "export" if run is not None else ckpt.parent
    return folder / f"generator{FORMATS[fmt]}"


@hydra.main(config_path=config_dir(), config_name="export", version_base="1.3")
@exit_on_user_error("dcgan-export", discard_output=True)
def hydra_main(cfg: DictConfig) -> list[Path]:
    """The written file (the Python API returns it)."""
    fmt = require_choice("format", cfg.format, tuple(FORMATS))
    if cfg.ckpt_path is None:
        raise UserError("ckpt_path is required: add ckpt_path=... to the command")
    require_choice("checkpoint", cfg.checkpoint, CHECKPOINT_CHOICES)
    (ckpt,) = find_checkpoints(Path(cfg.ckpt_path), cfg.checkpoint, single=True)
    out = Path(cfg.out) if cfg.out is not None else default_out(ckpt, fmt)
    require_writable("out", out, folder=False)
    if out.suffix != FORMATS[fmt]:
        raise UserError(f"out={out}: format={fmt} files end in {FORMATS[fmt]}")
    module = load_module(ckpt, cfg.bn_sampling, cfg.generator).eval()
    metadata = export_generator(module, fmt, out)
    print(f"wrote {out} ({fmt}; {metadata['inputs']} -> images {metadata['image_shape']} "
          f"in {metadata['output']}; BatchNorm {metadata['bn_sampling']} statistics)")  # fmt: skip
    return [out]


def main() -> None:
    run_with_clear_errors(hydra_main, "dcgan-export")


if __name__ == "__main__":
    main()
