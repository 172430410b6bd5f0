"""`csm-doctor smoke`: does CSM actually speak on this machine? Generated, measured and judged.

runner.py runs target_smoke.py inside the environment under test and builds
the SmokeResult; hub.py answers "cached? reachable?" before real weights
load; judge.py turns what the target reported into findings; plot.py draws
the PNG; render.py is the human view. See docs/smoke.md.
"""
