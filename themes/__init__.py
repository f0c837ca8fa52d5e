"""Console themes."""
