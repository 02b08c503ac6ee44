"""Export a checkpoint's generator as it samples, and load such a file as a sampler.

The file maps noise (N, latent_dim) float32 [and labels (N,) int64 when conditional] to
images (N, C, H, W) float32 in [0, 1]: eval mode on the BatchNorm statistics the run
sampled with (``standing`` baked in as the running statistics, or ``running``), the EMA or
raw generator as the checkpoint chose. Its metadata (ONNX ``metadata_props``, TorchScript
extra file ``dcgan.json``) names the latent size, the classes, the image shape, the
BatchNorm mode and the output range.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from dcgan_lab.errors import UserError, first_line
from dcgan_lab.models.sampling import STANDING, batch_norms
from dcgan_lab.training.module import DCGANModule

FORMATS = {"onnx": ".onnx", "torchscript": ".pt"}
METADATA_FILE = "dcgan.json"
OUTPUT_RANGE = "[0, 1] float32"


class UnitRangeGenerator(nn.Module):
    """G in eval mode, its tanh images (in [-1, 1]) mapped to [0, 1]."""

    def __init__(self, generator: nn.Module) -> None:
        super().__init__()
        self.generator = generator.eval()

    def forward(self, noise: torch.Tensor) -> torch.Tensor:
        return (self.generator(noise, None) * 0.5 + 0.5).clamp(0.0, 1.0)


class ConditionalUnitRangeGenerator(UnitRangeGenerator):
    def forward(self, noise: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        return (self.generator(noise, labels) * 0.5 + 0.5).clamp(0.0, 1.0)


def sampling_generator(module: DCGANModule) -> tuple[nn.Module, dict[str, Any]]:
    """A copy of the generator ``module.sample`` draws from, with the BatchNorm statistics
    it samples with as its running statistics, wrapped to [0, 1]; and its metadata."""
    bn = module.hparams["bn_sampling"]
    if bn == "batch":
        raise UserError(
            "bn_sampling=batch makes each image depend on the others drawn with it, which a "
            "file of fixed weights cannot: export with bn_sampling=standing or running"
        )
    source = (
        module.generator_ema.module if module.use_ema and module.generator_ema else module.generator
    )
    generator = copy.deepcopy(source).float().eval()
    if bn == "standing":
        stats = STANDING.get(source)
        for name, norm in batch_norms(generator).items():
            norm.running_mean = stats.means[name].clone()
            norm.running_var = stats.variances[name].clone()
    generator.to(memory_format=torch.contiguous_format)  # type: ignore[call-overload]
    wrapper = (ConditionalUnitRangeGenerator if module.num_classes else UnitRangeGenerator)(
        generator
    )
    metadata = {
        "latent_dim": module.latent_dim,
        "num_classes": module.num_classes,
        "image_shape": [module.generator.channels, *[module.generator.image_size] * 2],
        "bn_sampling": bn,
        "generator": "ema" if module.use_ema else "raw",
        "output": OUTPUT_RANGE,
        "inputs": "noise (N, latent_dim) float32 ~ N(0, 1)"
        + (", labels (N,) int64" if module.num_classes else ""),
    }
    return wrapper.eval(), metadata


def example_inputs(metadata: dict[str, Any], n: int = 2) -> tuple[torch.Tensor, ...]:
    noise = torch.randn(n, metadata["latent_dim"])
    if metadata["num_classes"]:
        return noise, torch.arange(n) % metadata["num_classes"]
    return (noise,)


def export_generator(module: DCGANModule, fmt: str, path: Path) -> dict[str, Any]:
    """Write the sampling generator to ``path`` as ``fmt`` (onnx or torchscript); returns
    the metadata written with it."""
    wrapper, metadata = sampling_generator(module)
    inputs = example_inputs(metadata)
    names = ["noise", "labels"][: len(inputs)]
    path.parent.mkdir(parents=True, exist_ok=True)
    with torch.no_grad():
        if fmt == "torchscript":
            traced = torch.jit.trace(wrapper, inputs)
            torch.jit.save(traced, str(path), _extra_files={METADATA_FILE: json.dumps(metadata)})
            return metadata
        try:
            import onnx
        except ImportError:
            raise UserError(
                "format=onnx needs the export extra: pip install 'dcgan-lab[export]'"
            ) from None
        batch = torch.export.Dim("batch")
        torch.onnx.export(
            wrapper, inputs, str(path), input_names=names, output_names=["images"],
            dynamic_shapes={name: {0: batch} for name in names}, dynamo=True, verbose=False,
        )  # fmt: skip
    model = onnx.load(str(path))
    for key, value in metadata.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, json.dumps(value)
    onnx.save(model, str(path))
    return metadata


Sampler = Callable[[torch.Tensor, torch.Tensor | None], torch.Tensor]


def load_generator_file(path: Path) -> tuple[Sampler, dict[str, Any]]:
    """An exported file as a sampler (noise (N, Z) [, labels (N,)] -> images (N, C, H, W)
    in [-1, 1], as the project's samplers give them) and its metadata."""
    if not path.is_file():
        raise UserError(f"generator={path} does not exist: give an exported .onnx or .pt file")
    try:
        if path.suffix == ".onnx":
            return onnx_sampler(path)
        extra = {METADATA_FILE: ""}
        scripted = torch.jit.load(str(path), map_location="cpu", _extra_files=extra)
        metadata = json.loads(extra[METADATA_FILE])
    except UserError:
        raise
    except Exception as err:
        raise UserError(
            f"cannot read generator={path} ({first_line(err)}): export it with dcgan-export"
        ) from None

    @torch.no_grad()
    def sample(noise: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        args = (noise,) if labels is None else (noise, labels)
        return scripted(*args) * 2.0 - 1.0

    return sample, metadata


def onnx_sampler(path: Path) -> tuple[Sampler, dict[str, Any]]:
    try:
        import onnxruntime
    except ImportError:
        raise UserError(
            "an .onnx generator needs the export extra: pip install 'dcgan-lab[export]'"
        ) from None
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    props = session.get_modelmeta().custom_metadata_map
    if "latent_dim" not in props:
        raise UserError(f"generator={path} has no dcgan-lab metadata: export it with dcgan-export")
    metadata = {key: json.loads(value) for key, value in props.items()}

    def sample(noise: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        feed = {"noise": noise.float().numpy()}
        if labels is not None:
            feed["labels"] = labels.long().numpy()
        (images,) = session.run(["images"], feed)
        return torch.from_numpy(np.asarray(images)) * 2.0 - 1.0

    return sample, metadata
