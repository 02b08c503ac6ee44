"""FID-style scores (FID, KID, IS) in the feature space of a classifier trained on the data."""
