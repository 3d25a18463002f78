"""Data files: layout files under layouts/ (read with importlib.resources)."""
