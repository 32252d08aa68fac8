# Windows (PowerShell) equivalent of scripts/quickstart.sh: set up, index a folder, then search it.
#   scripts\quickstart.ps1 FOLDER ["what to look for"]
param([Parameter(Mandatory = $true)][string]$Folder, [string]$Query = "a photo of people outdoors")
$ErrorActionPreference = "Stop"
if (-not (Test-Path -LiteralPath $Folder -PathType Container)) { Write-Error "folder not found: $Folder"; exit 1 }
$Folder = (Resolve-Path -LiteralPath $Folder).Path
Set-Location (Split-Path -Parent $PSScriptRoot)
& (Join-Path $PSScriptRoot "setup.ps1")
if ($LASTEXITCODE -ne 0) { exit 1 }
$pd = Join-Path ".venv" "Scripts\pixel-detective.exe"
& $pd index $Folder
$rc = $LASTEXITCODE
switch ($rc) {
    0 { & $pd search $Query --limit 10; exit $LASTEXITCODE }
    4 {
        Write-Warning "Indexed metadata only: model weights are missing (see the message above and README 'Model weights')."
        & $pd status
    }
    default { exit $rc }
}
