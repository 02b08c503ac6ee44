"""The entry points (dcgan-train, -sample, -eval, -features, -report) and their error lines."""
