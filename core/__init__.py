"""What every layer shares: the Artwork value and the root errors (imports nothing of ours)."""
