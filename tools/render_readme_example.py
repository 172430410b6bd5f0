"""Regenerate the README's example output: the real output of the command it shows.

    python tools/render_readme_example.py        # rewrite README.md in place
    python tools/render_readme_example.py --check  # exit 1 when README.md is stale

The block between the `readme-example` markers is `$ COMMAND` followed by what
`python -m csm_doctor COMMAND` prints, without colour, run from the repository
root on a saved facts document (docs/examples/), so it is the same on every machine.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COMMAND = ["check", "--facts", "docs/examples/fresh-venv-no-gpu.json"]
BLOCK = re.compile(r"(<!-- readme-example -->\n```text\n)(.*?)(```\n<!-- /readme-example -->)", re.S)


def example() -> str:
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "200"}
    env.pop("FORCE_COLOR", None)
    proc = subprocess.run([sys.executable, "-m", "csm_doctor", *COMMAND], cwd=ROOT, env=env,
                          capture_output=True, text=True, encoding="utf-8", timeout=120)
    return f"$ csm-doctor {' '.join(COMMAND)}\n{proc.stdout}"


def render(readme: str) -> str:
    if not BLOCK.search(readme):
        raise SystemExit("README.md has no readme-example markers")
    return BLOCK.sub(lambda m: m.group(1) + example() + m.group(3), readme, count=1)


def main() -> int:
    path = ROOT / "README.md"
    text = path.read_text(encoding="utf-8")
    new = render(text)
    if "--check" in sys.argv[1:]:
        return 0 if new == text else 1
    path.write_text(new, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
