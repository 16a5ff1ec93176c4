import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "bench: runs a benchmark suite at a tiny scale (deselect with -m 'not bench')")
