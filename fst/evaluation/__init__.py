"""Measuring quality: evaluation reports over held-out photos, and the per-image optimization baseline."""
