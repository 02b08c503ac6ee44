"""Pictures of a generator beyond the sample grid: latent interpolations, training animations."""
