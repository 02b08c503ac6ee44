from __future__ import annotations

import numpy as np
import torch

from dcgan_lab.images import make_grid, to_uint8
from dcgan_lab.models import KerasGenerator
from dcgan_lab.training.sampling import batch_statistics, generate


def test_generate_uses_batch_statistics_and_leaves_the_model_unchanged() -> None:
    torch.manual_seed(0)
    g = KerasGenerator(latent_dim=8, width=4)
    g.eval()
    before = {k: v.clone() for k, v in g.state_dict().items()}
    noise = torch.randn(10, 8)
    images = generate(g, noise, batch_size=10)
    assert images.shape == (10, 1, 28, 28)
    assert not g.training
    assert all(torch.equal(before[k], v) for k, v in g.state_dict().items())
    # Batch statistics differ from fresh running statistics (mean 0, var 1).
    with torch.no_grad():
        assert not torch.allclose(images, g(noise))
        with batch_statistics(g):
            assert torch.allclose(images, g(noise))


def test_to_uint8_maps_the_tanh_range_onto_0_255() -> None:
    x = torch.tensor([-1.0, 0.0, 1.0, 5.0, -5.0])
    assert to_uint8(x).tolist() == [0, 128, 255, 255, 0]


def test_make_grid_places_tiles_row_major_with_padding() -> None:
    images = torch.stack([torch.full((1, 2, 2), i * 50, dtype=torch.uint8) for i in range(5)])
    grid = make_grid(images, nrow=3, pad=1)
    assert grid.shape == (2 * 3 + 1, 3 * 3 + 1, 1)
    assert grid[1, 1, 0] == 0 and grid[1, 4, 0] == 50 and grid[4, 1, 0] == 150
    assert np.all(grid[4:6, 7:9] == 0)  # sixth cell empty
