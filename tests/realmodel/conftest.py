"""Real-model tests: they need `medium narrator install` and run only when asked for
(`make eval`, i.e. `pytest -m realmodel tests/realmodel`), so `make test` never waits on a
model even where one is installed."""

from __future__ import annotations

import pytest

from synthesis.llm import install
from synthesis.settings import Settings


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    paths = install.Paths(Settings().medium_data_dir)
    installed = install.resolve_model(paths) is not None and install.runtime_version(paths) is not None
    asked = "realmodel" in (config.getoption("-m") or "")
    for item in items:
        if "realmodel" not in item.keywords:
            continue
        if not installed:
            item.add_marker(pytest.mark.skip(reason="no local narrator: run `medium narrator install`"))
        elif not asked:
            item.add_marker(pytest.mark.skip(reason="real-model test: run with `make eval` (-m realmodel)"))
