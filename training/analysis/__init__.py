"""Measuring a model against hand labels and against the rules: `evaluation` (metrics, reports,
curves) and `disagreements` (where model and rules differ). Imports `weak`, `inputs`, `model`."""
