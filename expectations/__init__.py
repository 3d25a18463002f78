"""The Great Expectations suites, one JSON file per sheet kind (data, read with importlib.resources)."""
