"""csm-doctor: turn "it doesn't work on my machine" into a named cause and a fix.

The flow is one-directional: probes gather *facts*, pure evaluation turns
facts + a recipe into *findings*, and (later) fixes are planned from findings.
Keep this module import-free: ``csm-doctor --help`` must stay fast.
"""

__version__ = "0.1.0"
