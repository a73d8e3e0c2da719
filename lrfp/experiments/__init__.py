"""The studies that combine the rest: the paper's experiments and their reproduction, and the
production model's cross-validation."""
