"""Text analysis, knowing no engine: normalization, pyvi-identical segmentation, index terms."""
