"""Training: the LightningModule, its losses, augmentation, EMA, sampling and sample grids."""
