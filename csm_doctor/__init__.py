"""csm-doctor: turn "it doesn't work on my machine" into a named cause and a fix.

The flow is one-directional: probes gather *facts*, pure evaluation turns
facts + a recipe into *findings*, and (later) fixes are planned from findings.
Keep this module import-free: ``csm-doctor --help`` must stay fast.
"""

__version__ = "0.1.0"  # the one version: pyproject.toml reads it ([tool.hatch.version])

# Where users are sent for documentation: docs/*.md do not exist in an installed wheel.
PROJECT_URL = "https://github.com/csm-doctor/csm-doctor"
DOCS_URL = PROJECT_URL + "/blob/main/docs/"


def docs_url(page: str) -> str:
    """The project's page for docs/<page> (e.g. "diagnoses.md#index-unreachable")."""
    return DOCS_URL + page
