"""Build hook: a wheel carries the SQL migrations and the web client inside its packages.

They stay where their tools expect them in the source tree (``supabase/migrations/`` for the
Supabase CLI, ``web/`` for the static client); ``build_py`` copies them to
``synthesis/_migrations/`` and ``api/_web/``, where ``synthesis.installed.data_dir`` finds them.
An editable install copies nothing: it reads them from the checkout. Metadata is in pyproject.toml.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

# source directory (relative to this file) -> directory inside the built packages
DATA_DIRS = {"supabase/migrations": "synthesis/_migrations", "web": "api/_web"}


class BuildPyWithData(build_py):
    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return
        here = Path(__file__).resolve().parent
        for source, target in DATA_DIRS.items():
            destination = Path(self.build_lib) / target
            shutil.rmtree(destination, ignore_errors=True)
            shutil.copytree(here / source, destination,
                            ignore=shutil.ignore_patterns(".*", "__pycache__"))


setup(cmdclass={"build_py": BuildPyWithData})
