# Smoke test of a running stack, for Windows PowerShell 5.1 and PowerShell 7 (the same checks as scripts/smoke.sh):
#   1. a /live subscriber is connected,  2. the producer accepts an event (202),
#   3. a processor stores it (GET /logs returns it),  4. the subscriber receives it.
#   $env:PRODUCER_URL = 'http://localhost:8001'; $env:GATEWAY_URL = 'http://localhost:8002'; .\scripts\smoke_test.ps1
# Optional: SMOKE_TIMEOUT (seconds, default 60), READ_TOKEN / INGEST_TOKEN when the stack has tokens.
param(
  [string]$ProducerUrl = $(if ($env:PRODUCER_URL) { $env:PRODUCER_URL } else { 'http://localhost:8001' }),
  [string]$GatewayUrl = $(if ($env:GATEWAY_URL) { $env:GATEWAY_URL } else { 'http://localhost:8002' }),
  [int]$TimeoutSeconds = $(if ($env:SMOKE_TIMEOUT) { [int]$env:SMOKE_TIMEOUT } else { 60 })
)
$ErrorActionPreference = 'Stop'
Add-Type -AssemblyName System.Net.Http

function Pass([string]$what) { Write-Host "ok    $what" }
function Fail([string]$what) { Write-Host "FAIL  $what" -ForegroundColor Red; exit 1 }

# HttpClient instead of Invoke-WebRequest: the same behaviour on 5.1 and 7, and non-2xx answers are not exceptions.
$http = New-Object System.Net.Http.HttpClient
$http.Timeout = [TimeSpan]::FromSeconds(10)
function Get-Url([string]$url, [string]$token) {
  $req = New-Object System.Net.Http.HttpRequestMessage([System.Net.Http.HttpMethod]::Get, $url)
  if ($token) { $req.Headers.Authorization = New-Object System.Net.Http.Headers.AuthenticationHeaderValue('Bearer', $token) }
  try {
    $res = $http.SendAsync($req).GetAwaiter().GetResult()
    return @{ Status = [int]$res.StatusCode; Body = $res.Content.ReadAsStringAsync().GetAwaiter().GetResult() }
  } catch {
    return @{ Status = 0; Body = $_.Exception.Message }
  }
}

$marker = "smoke-$([DateTimeOffset]::UtcNow.ToUnixTimeSeconds())-$(Get-Random -Maximum 100000)"

# 0. Both ends ready (their dependencies reachable).
foreach ($url in @($ProducerUrl, $GatewayUrl)) {
  $deadline = (Get-Date).AddSeconds($TimeoutSeconds)
  while ((Get-Url "$url/ready").Status -ne 200) {
    if ((Get-Date) -gt $deadline) { Fail "$url/ready did not answer 200 within $TimeoutSeconds s" }
    Start-Sleep -Seconds 1
  }
  Pass "$url/ready"
}

# 1. A /live subscriber filtered on this run's marker.
$wsUrl = ($GatewayUrl -replace '^http', 'ws') + "/live?service=smoke&q=$marker"
if ($env:READ_TOKEN) { $wsUrl += "&token=$($env:READ_TOKEN)" }
$ws = New-Object System.Net.WebSockets.ClientWebSocket
$cts = New-Object System.Threading.CancellationTokenSource([TimeSpan]::FromSeconds($TimeoutSeconds))
try { $ws.ConnectAsync([Uri]$wsUrl, $cts.Token).GetAwaiter().GetResult() } catch { Fail "cannot connect to ${wsUrl}: $($_.Exception.Message)" }

$buffer = New-Object byte[] 65536
function Receive-Frame {
  # One whole text frame (frames may arrive in several parts), or $null when the time is up.
  $text = New-Object System.Text.StringBuilder
  do {
    $segment = New-Object System.ArraySegment[byte] -ArgumentList @(, $buffer)
    try { $result = $ws.ReceiveAsync($segment, $cts.Token).GetAwaiter().GetResult() } catch { return $null }
    if ($result.MessageType -eq [System.Net.WebSockets.WebSocketMessageType]::Close) { return $null }
    [void]$text.Append([System.Text.Encoding]::UTF8.GetString($buffer, 0, $result.Count))
  } while (-not $result.EndOfMessage)
  return $text.ToString() | ConvertFrom-Json
}

$hello = Receive-Frame
if ($null -eq $hello -or $hello.type -ne 'hello') { Fail "no hello frame from $wsUrl" }
Pass '/live subscriber connected'

# 2. The producer accepts one event.
$send = Get-Url "$ProducerUrl/send?message=$marker&service=smoke&level=info" $env:INGEST_TOKEN
if ($send.Status -ne 202) { Fail "GET /send answered $($send.Status): $($send.Body)" }
if (($send.Body | ConvertFrom-Json).accepted -ne 1) { Fail "GET /send did not accept the event: $($send.Body)" }
Pass "producer accepted the event: $($send.Body)"

# 3. A processor stores it: the gateway's /logs (PostgreSQL) returns it.
$deadline = (Get-Date).AddSeconds($TimeoutSeconds)
while ($true) {
  $logs = Get-Url "$GatewayUrl/logs?service=smoke&q=$marker&limit=10" $env:READ_TOKEN
  if ($logs.Status -eq 200 -and @(($logs.Body | ConvertFrom-Json).items | Where-Object { $_.message -eq $marker }).Count -eq 1) { break }
  if ((Get-Date) -gt $deadline) { Fail "GET /logs did not return the event within $TimeoutSeconds s: $($logs.Body)" }
  Start-Sleep -Milliseconds 500
}
Pass 'stored and returned by GET /logs'

# 4. The /live subscriber received it.
$received = $null
while ($null -eq $received) {
  $frame = Receive-Frame
  if ($null -eq $frame) { Fail "the /live subscriber did not receive the event within $TimeoutSeconds s" }
  if ($frame.type -eq 'logs') { $received = @($frame.items | Where-Object { $_.message -eq $marker }) | Select-Object -First 1 }
}
Pass "/live subscriber received $($received.id)"
try { $ws.CloseAsync([System.Net.WebSockets.WebSocketCloseStatus]::NormalClosure, 'done', [Threading.CancellationToken]::None).GetAwaiter().GetResult() } catch { }
Write-Host "smoke test passed ($ProducerUrl, $GatewayUrl)"
exit 0
