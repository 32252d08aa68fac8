"""What the engine computes about a photo: quality, duplicate signatures and groups, zero-shot keywords."""
