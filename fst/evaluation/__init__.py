"""Measuring quality: evaluation reports of style models over held-out photos, and video stability."""
