#!/usr/bin/env bash
# Set up csm-doctor and check this machine for Sesame CSM-1B (Linux, macOS, WSL).
#
#   ./install.sh [--venv DIR] [--python PYTHON] [CHECK OPTIONS...]
#
# Finds a Python >= 3.10 (3.10 first: the csm-1b recipe is tested on it), creates a
# virtual environment (default: .venv beside this script, or the one already
# active), installs csm-doctor into it and runs `csm-doctor check` there. That
# environment is meant to become your CSM environment: `csm-doctor fix` installs
# the recipe's packages into it. Options it does not know go to `csm-doctor check`
# (e.g. --offline, --json, --recipe ID). It never uses sudo.
# Exit code: the check's (0 fine, 1 problems found), or 3 if setup itself failed.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="${CSM_DOCTOR_VENV:-${VIRTUAL_ENV:-$here/.venv}}"
python="${CSM_DOCTOR_PYTHON:-}"
check_args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --venv) venv="$2"; shift 2 ;;
    --python) python="$2"; shift 2 ;;
    -h|--help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) check_args+=("$1"); shift ;;
  esac
done

say() { printf 'install.sh: %s\n' "$*" >&2; }
die() { say "$*"; exit 3; }

python_ok() {  # a working interpreter >= 3.10 (pyenv shims can exist and still fail)
  "$1" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else 1)' >/dev/null 2>&1
}

venv_python() {
  if [ -x "$venv/bin/python" ]; then echo "$venv/bin/python"
  elif [ -x "$venv/Scripts/python.exe" ]; then echo "$venv/Scripts/python.exe"
  fi
}

if [ -z "$(venv_python)" ]; then
  if [ -z "$python" ]; then
    for candidate in python3.10 python3.11 python3.12 python3.13 python3 python; do
      if command -v "$candidate" >/dev/null 2>&1 && python_ok "$candidate"; then
        python="$candidate"; break
      fi
    done
  fi
  [ -n "$python" ] && python_ok "$python" || die "no Python >= 3.10 found. Install one (Ubuntu: sudo apt install python3.10 python3.10-venv; macOS: brew install python@3.10), then run ./install.sh again, or pass --python PATH."
  say "creating the virtual environment $venv with $("$python" -c 'import sys; print(sys.executable, sys.version.split()[0])')"
  "$python" -m venv "$venv" || die "could not create $venv. On Debian/Ubuntu the venv module is a separate package: sudo apt install python3-venv (or python3.X-venv for your version)."
fi
py="$(venv_python)"
[ -n "$py" ] || die "$venv has no Python interpreter"

say "installing csm-doctor into $venv"
"$py" -m pip install --quiet --disable-pip-version-check "$here" \
  || die "pip could not install csm-doctor (see the messages above; a proxy or an offline machine needs PIP_INDEX_URL)"

say "running csm-doctor check"
status=0
"$venv/bin/csm-doctor" check ${check_args[@]+"${check_args[@]}"} || status=$?
if [ "$status" -le 1 ]; then
  say "csm-doctor is installed in $venv. Activate it with:  . $venv/bin/activate"
  [ "$status" -eq 1 ] && say "then repair what the check found with:  csm-doctor fix   (it shows its plan and asks first)"
fi
exit "$status"
