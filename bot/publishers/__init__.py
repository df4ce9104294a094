"""Publishers: the platforms an artwork is posted to, and the preview used by --dry-run."""
