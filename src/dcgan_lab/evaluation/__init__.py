"""Scoring helpers of dcgan-eval: images from files, copy pictures, latent-scale sweeps."""
