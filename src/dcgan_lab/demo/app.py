"""A Gradio page over a checkpoint: seed, class, truncation and a walk toward a second
seed; the grid redraws as they change, and a button saves it as a PNG."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from dcgan_lab.errors import UserError
from dcgan_lab.pictures.demo_grid import GridRequest, demo_grid
from dcgan_lab.training.module import DCGANModule

SCALE = 4  # the page shows each pixel as 4 x 4 (28-pixel digits are small on a screen)


class DemoPage:
    """The page's two actions, apart from Gradio so they can be called directly."""

    def __init__(self, module: DCGANModule, out_dir: Path, n: int = 16) -> None:
        self.module, self.out_dir, self.n = module, out_dir, n

    def draw(self, *fields: Any) -> np.ndarray:
        """uint8 grid for the form's fields, in ``GridRequest`` order, enlarged ``SCALE``
        times: (H, W) for grey images, (H, W, 3) for colour."""
        request = GridRequest(*fields)
        grid = demo_grid(
            self.module.sample, self.module.latent_dim, self.module.num_classes, request, self.n
        )  # (h, w, C)
        grid = grid.repeat(SCALE, axis=0).repeat(SCALE, axis=1)
        return grid[..., 0] if grid.shape[2] == 1 else grid

    def save(self, *fields: Any) -> str:
        """Write the grid the fields describe; the line the page shows."""
        grid = self.draw(*fields)
        seed, other, walk, label, truncation = fields
        name = f"grid_seed{seed}_to{other}_walk{walk}_class{label}_trunc{truncation or 0}.png"
        path = self.out_dir / name.replace(" ", "")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(grid).save(path)
        except OSError as err:
            raise UserError(f"cannot save the grid to {path}: {err.strerror}") from None
        return f"saved {path}"


def shown_as_message(action: Any) -> Any:
    """Bad input appears on the page as Gradio's error message, not as a traceback."""
    import gradio as gr

    def call(*fields: Any) -> Any:
        try:
            return action(*fields)
        except UserError as err:
            raise gr.Error(str(err)) from None

    return call


def build_app(page: DemoPage, title: str) -> Any:
    """The Gradio Blocks of the page (``.launch()`` serves it)."""
    import gradio as gr

    classes = page.module.num_classes
    with gr.Blocks(title="dcgan-lab demo") as app:
        gr.Markdown(f"### {title}")
        with gr.Row():
            with gr.Column(scale=1):
                seed = gr.Number(value=0, precision=0, label="seed", elem_id="seed")
                other = gr.Number(value=1, precision=0, label="second seed", elem_id="other-seed")
                walk = gr.Slider(0, 1, value=0, step=0.05, label="walk toward the second seed",
                                 elem_id="walk")  # fmt: skip
                label = gr.Radio(["all", *map(str, range(classes))], value="all", label="class",
                                 visible=bool(classes), elem_id="label")  # fmt: skip
                truncation = gr.Slider(0, 2, value=0, step=0.05, label="truncation (0: off)",
                                       elem_id="truncation")  # fmt: skip
                save = gr.Button("Save grid", elem_id="save")
                saved = gr.Markdown(elem_id="saved")
            grid = gr.Image(label="samples", type="numpy", format="png", interactive=False,
                            elem_id="grid", scale=2)  # fmt: skip
        fields = [seed, other, walk, label, truncation]
        draw = shown_as_message(page.draw)
        for number in (seed, other):  # typed: drawn on Enter or leaving the field, not per key
            number.submit(draw, fields, grid)
            number.blur(draw, fields, grid)
        for choice in (walk, label, truncation):
            choice.change(draw, fields, grid)
        app.load(draw, fields, grid)
        save.click(shown_as_message(page.save), fields, saved)
    return app
