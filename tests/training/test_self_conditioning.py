"""Self-conditioning: k-means in D's feature space, stable cluster numbers, and a run on
unlabelled data that conditions G and D on the clusters."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
import pytorch_lightning as pl
import torch

from dcgan_lab.data import ImageDataModule
from dcgan_lab.data.datamodule import to_signed_unit
from dcgan_lab.data.splits import UNLABELLED, ImageSplits
from dcgan_lab.models.keras import KerasDiscriminator, KerasGenerator
from dcgan_lab.training.module import DCGANModule
from dcgan_lab.training.self_conditioning import (
    ClusterLabels,
    SelfConditioningSettings,
    kmeans,
)


def test_kmeans_finds_three_separated_blobs() -> None:
    torch.manual_seed(0)
    means = torch.tensor([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    points = torch.cat([m + torch.randn(50, 2) * 0.5 for m in means])
    found = kmeans(points, 3, seed=1)
    nearest = torch.cdist(means, found).min(dim=1).values
    assert bool((nearest < 0.5).all())


@dataclass(frozen=True)
class TwoKinds:
    """Unlabelled 12x12 images of two kinds: a bar on the left, or a filled square on the
    right (``kinds`` says which, for the test's own check)."""

    n: int = 200

    @property
    def kinds(self) -> np.ndarray:
        return np.arange(self.n + 20) % 2

    def load(self) -> ImageSplits:
        images = np.zeros((self.n + 20, 12, 12), np.uint8)
        images[self.kinds == 0, :, 1:3] = 255
        images[self.kinds == 1, 3:9, 6:12] = 255
        unlabelled = np.full(len(images), UNLABELLED)
        return ImageSplits.from_numpy(
            (images[: self.n], unlabelled[: self.n]), (images[self.n :], unlabelled[self.n :])
        )


def test_clusters_of_d_features_separate_two_kinds_and_keep_their_numbers() -> None:
    torch.manual_seed(0)
    source = TwoKinds()
    images = to_signed_unit(source.load().train_images)
    discriminator = KerasDiscriminator(8, 0.3, image_size=12)
    clusters = ClusterLabels(SelfConditioningSettings(clusters=2), discriminator.pooled_dim)
    clusters.recluster(discriminator, images, seed=0)
    assigned = clusters.assign(discriminator, images).numpy()
    kinds = source.kinds[: source.n]
    agreement = (assigned == kinds).mean()
    assert max(agreement, 1 - agreement) >= 0.95  # the kinds apart, whichever is number 0
    # Number the clusters the other way round; clustering the same features again must
    # keep that numbering (G has learned what each number draws), not k-means' own order.
    swapped = clusters.centroids.flip(0).clone()
    clusters.centroids.copy_(swapped)
    clusters.recluster(discriminator, images, seed=0)
    assert torch.allclose(clusters.centroids, swapped, atol=1e-4)


def test_a_run_on_unlabelled_data_conditions_on_clusters_and_checkpoints_them(
    tmp_path: Path,
) -> None:
    torch.manual_seed(0)
    adam = partial(torch.optim.Adam, lr=2e-4, betas=(0.5, 0.999))
    generator = KerasGenerator(8, 8, image_size=12, conditional=True, num_classes=3)
    discriminator = KerasDiscriminator(8, 0.3, image_size=12, conditional=True, num_classes=3)
    module = DCGANModule(generator, discriminator, adam, adam, conditional="clusters",
                         self_conditioning={"clusters": 3, "every_n_epochs": 1})  # fmt: skip
    seen: list[torch.Tensor] = []
    real_step = module._discriminator_step

    def recording(opt, real, fake, labels, *args):
        seen.append(labels)
        return real_step(opt, real, fake, labels, *args)

    module._discriminator_step = recording  # type: ignore[method-assign]
    trainer = pl.Trainer(
        max_epochs=2, limit_val_batches=0, logger=False, enable_progress_bar=False,
        enable_model_summary=False, accelerator="cpu", default_root_dir=tmp_path,
    )  # fmt: skip
    trainer.fit(module, datamodule=ImageDataModule(TwoKinds(), batch_size=20))
    assert module.clusters is not None and bool(module.clusters.ready)
    labels = torch.cat(seen)
    assert labels.min() >= 0 and labels.max() < 3  # cluster numbers, not the data's -1
    assert len(labels.unique()) >= 2
    path = tmp_path / "clusters.ckpt"
    trainer.save_checkpoint(path)
    loaded = DCGANModule.load_from_checkpoint(path, weights_only=True)
    assert loaded.clusters is not None
    assert torch.equal(loaded.clusters.centroids, module.clusters.centroids)
    assert loaded.sample(torch.randn(4, 8), torch.tensor([0, 1, 2, 0])).shape == (4, 1, 12, 12)
