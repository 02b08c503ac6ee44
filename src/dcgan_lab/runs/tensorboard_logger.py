"""TensorBoard in the run folder (``<run>/tensorboard/``): scalars on the batch step axis
that metrics.csv and W&B use, each epoch's sample grid as an image, and the run's config in
the HParams tab beside ``val/fid_best``; a resume continues the same folder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from lightning_fabric.utilities.logger import _convert_params, _flatten_dict
from PIL import Image
from pytorch_lightning.loggers import TensorBoardLogger

from dcgan_lab.errors import UserError

# The scores the HParams tab shows beside each run's hyperparameters (their values are
# read from the scalars of the same name).
HPARAMS_METRICS = ("val/fid_best", "val/fid")
EVENT_FILES = "events.out.tfevents.*"


class ResumableTensorBoardLogger(TensorBoardLogger):
    """Lightning's TensorBoardLogger that a resume continues without doubled steps.

    A resume from an epoch's checkpoint logs again the steps the earlier process logged
    after it. Its event file marks the first step it logs with TensorBoard's own purge
    marker (a ``SessionLog.START`` event, as ``SummaryWriter(purge_step=...)`` writes), so
    readers drop the earlier copies and each step holds one value, as in metrics.csv.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("default_hp_metric", False)
        try:
            super().__init__(*args, **kwargs)
        except ModuleNotFoundError:
            raise UserError(
                "logger=tensorboard needs TensorBoard, which is not installed: "
                "pip install 'dcgan-lab[tensorboard]'"
            ) from None
        # Known before this process writes a file of its own (Lightning opens it at setup).
        self.continues_earlier_run = any(Path(self.log_dir).glob(EVENT_FILES))
        self.first_step_logged = False
        self.pending_hparams: dict[str, Any] = {}

    def log_hyperparams(
        self, params: Any, metrics: dict[str, Any] | None = None, step: int | None = None
    ) -> None:
        """Collected (the run's config, then Lightning's call with the module's own) and
        written with the first scalars, as one HParams session."""
        params = self._sanitize_params(_flatten_dict(_convert_params(params)))
        self.pending_hparams.update(params)
        self.hparams.update(params)

    def log_metrics(self, metrics: Any, step: int | None = None) -> None:
        self.before_writing(step)
        super().log_metrics(metrics, step)

    def log_sample_grid(self, path: Path, step: int) -> None:
        self.before_writing(step)
        image = np.asarray(Image.open(path).convert("RGB"))  # (H, W, 3) uint8
        self.experiment.add_image("samples", image, step, dataformats="HWC")

    def log_animation(self, path: Path, step: int) -> None:
        """TensorBoard shows no GIFs; the animation stays in the run's samples/ folder."""

    def before_writing(self, step: int | None) -> None:
        writer = self.experiment._get_file_writer()
        if not self.first_step_logged and step is not None:
            self.first_step_logged = True
            if self.continues_earlier_run:
                from tensorboard.compat.proto.event_pb2 import Event, SessionLog

                writer.add_event(Event(step=step, session_log=SessionLog(status=SessionLog.START)))
        if self.pending_hparams:
            from torch.utils.tensorboard.summary import hparams

            metrics = dict.fromkeys(HPARAMS_METRICS, 0.0)  # names only: values are the scalars
            for summary in hparams(self.pending_hparams, metrics):
                writer.add_summary(summary)
            self.pending_hparams = {}
