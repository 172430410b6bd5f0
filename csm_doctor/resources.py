"""Where the shipped data (recipes/, diagnoses/, knowledge/) lives, installed or in a clone.

In a wheel the data sits in `csm_doctor/data/`; in a source checkout or an
editable install it is the repository's top-level `recipes/`, `diagnoses/` and `knowledge/`.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def data_dir(name: str) -> Path:
    """The directory of shipped `name` data ("recipes", "diagnoses" or "knowledge")."""
    installed = _PACKAGE / "data" / name
    if installed.is_dir():
        return installed
    return _PACKAGE.parent / name
