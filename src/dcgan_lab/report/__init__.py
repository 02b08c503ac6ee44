"""``dcgan-report``: the offline twin of the W&B dashboard for one sweep directory."""
