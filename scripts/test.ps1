# Windows (PowerShell) equivalent of scripts/test.sh: set up with test tools, check import rules, lint and
# types, then run the default test suite. Extra arguments go to pytest.
#   scripts\test.ps1                 default suite (what CI runs)
#   scripts\test.ps1 -m slow         the long runs kept out of the default suite
$ErrorActionPreference = "Stop"
Set-Location (Split-Path -Parent $PSScriptRoot)
& (Join-Path $PSScriptRoot "setup.ps1") -Dev
if ($LASTEXITCODE -ne 0) { exit $LASTEXITCODE }
$bin = Join-Path ".venv" "Scripts"
& (Join-Path $bin "lint-imports.exe") --no-cache
if ($LASTEXITCODE -ne 0) { exit $LASTEXITCODE }
& (Join-Path $bin "ruff.exe") check --quiet bridge catalog desktop tests bench
if ($LASTEXITCODE -ne 0) { exit $LASTEXITCODE }
& (Join-Path $bin "mypy.exe")
if ($LASTEXITCODE -ne 0) { exit $LASTEXITCODE }
& (Join-Path $bin "python.exe") -m pytest -q @args
exit $LASTEXITCODE
