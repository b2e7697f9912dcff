"""What this installation of medium carries: its data directories and its optional extras.

Data files live where their tools expect them in the source tree (``supabase/migrations/`` for
the Supabase CLI, ``web/`` for the static client). Building a wheel copies each one into the
package that serves it (``setup.py``), so an installed medium needs no checkout. An editable
install or a bare source tree reads them from the checkout, with no build step.
"""

from __future__ import annotations

import importlib.resources
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from synthesis.errors import MissingExtra


def data_dir(package: str, packaged: str, checkout: str) -> Path:
    """The directory ``<package>/<packaged>`` of a built install, else ``<checkout>`` under the
    source tree that holds ``package``.

    The result may not exist (a source tree without the files); callers decide what that means.
    """
    root = importlib.resources.files(package)
    copy = root / packaged
    if isinstance(copy, Path) and copy.is_dir():
        return copy
    return Path(str(root)).resolve().parent / checkout


@contextmanager
def extra(name: str, purpose: str) -> Iterator[None]:
    """Wrap the imports of packages that only the extra ``name`` installs. A missing one raises
    ``MissingExtra``: "<purpose> needs <module>, which is not installed: pip install
    'medium[<name>]'", instead of a bare ``ModuleNotFoundError``.

        with installed.extra("embedded", "the embedded PostgreSQL"):
            import pgserver
    """
    try:
        yield
    except ModuleNotFoundError as exc:
        module = (exc.name or "a module").partition(".")[0]
        raise MissingExtra(f"{purpose} needs {module}, which is not installed: "
                           f"pip install 'medium[{name}]'", extra=name) from exc
