"""`csm-doctor report`: a support bundle worth attaching to an issue.

collect.py gathers what the bundle says (facts, findings, the last smoke
result, versions), redact.py takes secrets and personal details out of it,
summary.py writes the Markdown to paste into the issue and bundle.py writes
the files with a SHA-256 manifest, to a folder or a .zip.
"""
