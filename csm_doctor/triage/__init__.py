"""Triage: read text a user pasted (a log, an issue body, tool output) and say what it shows.

`extract.extract_facts` finds the tool outputs embedded in the text and turns
them into a facts document with the same paths the probes fill.
"""

from csm_doctor.triage.extract import extract_facts

__all__ = ["extract_facts"]
