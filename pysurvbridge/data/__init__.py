"""Data containers, validation and dataset loaders."""
