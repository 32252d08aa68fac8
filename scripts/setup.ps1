# Windows (PowerShell) equivalent of scripts/setup.sh: create .venv and install Pixel Detective pinned by
# constraints.txt.
#   scripts\setup.ps1              the app
#   scripts\setup.ps1 -Cluster     the app + the cluster extra (Ray, s3fs, gcsfs)
#   scripts\setup.ps1 -Dev         the app + the cluster, faces and installer extras + test tools
#   scripts\setup.ps1 -Installer   the app + PyInstaller (installer\README.md)
# Idempotent: re-running only installs what changed. Python >= 3.11 from python.org or `winget install Python.Python.3.11`.
param([switch]$Dev, [switch]$Cluster, [switch]$Installer)
$ErrorActionPreference = "Stop"
Set-Location (Split-Path -Parent $PSScriptRoot)

$py = if ($env:PYTHON) { $env:PYTHON } elseif (Get-Command py -ErrorAction SilentlyContinue) { "py" } else { "python" }
$pyArgs = if ($py -eq "py") { @("-3") } else { @() }
& $py @pyArgs -c "import sys; sys.exit(0 if sys.version_info >= (3, 11) else 'Pixel Detective needs Python >= 3.11')"
if ($LASTEXITCODE -ne 0) { exit 1 }
$venvPy = Join-Path ".venv" "Scripts\python.exe"
if (-not (Test-Path $venvPy)) {
    & $py @pyArgs -m venv .venv
    if ($LASTEXITCODE -ne 0) { exit 1 }
}
$extras = ""
if ($Dev) { $extras = "[dev]" } elseif ($Cluster) { $extras = "[cluster]" } elseif ($Installer) { $extras = "[installer]" }
& $venvPy -m pip install --quiet --disable-pip-version-check -c constraints.txt -e ".$extras"
if ($LASTEXITCODE -ne 0) { exit $LASTEXITCODE }

if ($Dev) {
    # Tools outside Python that some tests use; each such test skips with a reason when its tool is missing.
    $missing = @()
    if (-not (Get-Command exiftool -ErrorAction SilentlyContinue)) { $missing += "exiftool (winget install OliverBetz.ExifTool)" }
    if (-not (Get-Command luac5.1 -ErrorAction SilentlyContinue)) { $missing += "luac5.1 (optional: lupa checks the plug-in too)" }
    if ($missing.Count -gt 0) { Write-Warning ("not found: " + ($missing -join ", ") + "; their tests will skip") }
}
