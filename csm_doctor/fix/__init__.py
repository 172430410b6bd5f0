"""`csm-doctor fix`: plan the fixes for failing findings, apply them safely, check again, undo.

plan.py       pure: findings + facts + recipe → ordered actions (actions.py)
installer.py  uv or pip commands into the target interpreter, with pip's indexes
snapshot.py   freeze the target before changing it; restore it (--undo)
download.py   checkpoints into the Hugging Face cache: resumable and verified
profile.py    environment variables in a marked shell-profile block (--write-profile)
system.py     ffmpeg / sox through the OS package manager (--run-system, never sudo)
apply.py      run a plan: snapshot, bounded steps, roll back a failed package step
flow.py       the command: probe → plan → ask → apply → re-check → report
render.py     the human view
"""
