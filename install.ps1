# Set up csm-doctor and check this machine for Sesame CSM-1B (Windows PowerShell 5.1+ or pwsh).
#
#   powershell -ExecutionPolicy Bypass -File install.ps1 [-Venv DIR] [-Python EXE] [CHECK OPTIONS...]
#
# Finds a Python >= 3.10 (3.10 first: the csm-1b recipe is tested on it) through the
# py launcher or PATH, creates a virtual environment (default: .venv beside this
# script, or the one already active), installs csm-doctor into it and runs
# `csm-doctor check`. Other arguments go to `csm-doctor check`. Never elevates.
# Exit code: the check's (0 fine, 1 problems found), or 3 if setup itself failed.
[CmdletBinding(PositionalBinding = $false)]
param(
    [string]$Venv = $(if ($env:CSM_DOCTOR_VENV) { $env:CSM_DOCTOR_VENV } elseif ($env:VIRTUAL_ENV) { $env:VIRTUAL_ENV } else { Join-Path $PSScriptRoot ".venv" }),
    [string]$Python = $env:CSM_DOCTOR_PYTHON,
    [Parameter(ValueFromRemainingArguments = $true)][string[]]$CheckArgs = @()
)
$ErrorActionPreference = "Stop"

function Say([string]$Message) { [Console]::Error.WriteLine("install.ps1: $Message") }
function Die([string]$Message) { Say $Message; exit 3 }

function Test-Python([string[]]$Command) {
    # A working interpreter >= 3.10; the Microsoft Store alias prints a message and fails.
    try {
        $exe = $Command[0]; $rest = @($Command | Select-Object -Skip 1)
        & $exe @rest -c "import sys; sys.exit(0 if sys.version_info >= (3, 10) else 1)" 2>$null | Out-Null
        return ($LASTEXITCODE -eq 0)
    } catch { return $false }
}

$venvPython = Join-Path $Venv "Scripts\python.exe"
if (-not (Test-Path $venvPython)) {
    $found = $null
    if ($Python) {
        if (Test-Python @($Python)) { $found = @($Python) }
    } else {
        $candidates = @(@("py", "-3.10"), @("py", "-3.11"), @("py", "-3.12"), @("py", "-3.13"), @("py", "-3"), @("python"), @("python3"))
        foreach ($candidate in $candidates) {
            if ((Get-Command $candidate[0] -ErrorAction SilentlyContinue) -and (Test-Python $candidate)) { $found = $candidate; break }
        }
    }
    if (-not $found) { Die "no Python >= 3.10 found. Install one (winget install Python.Python.3.10), then run install.ps1 again, or pass -Python PATH." }
    $exe = $found[0]; $rest = @($found | Select-Object -Skip 1)
    Say "creating the virtual environment $Venv with $($found -join ' ')"
    & $exe @rest -m venv $Venv
    if ($LASTEXITCODE -ne 0) { Die "could not create $Venv" }
}
if (-not (Test-Path $venvPython)) { Die "$Venv has no Python interpreter" }

Say "installing csm-doctor into $Venv"
& $venvPython -m pip install --quiet --disable-pip-version-check $PSScriptRoot
if ($LASTEXITCODE -ne 0) { Die "pip could not install csm-doctor (see the messages above; behind a proxy set PIP_INDEX_URL)" }

Say "running csm-doctor check"
& (Join-Path $Venv "Scripts\csm-doctor.exe") check @CheckArgs
$status = $LASTEXITCODE
if ($status -le 1) {
    Say "csm-doctor is installed in $Venv. Activate it with:  $Venv\Scripts\Activate.ps1"
    if ($status -eq 1) { Say "then repair what the check found with:  csm-doctor fix   (it shows its plan and asks first)" }
}
exit $status
