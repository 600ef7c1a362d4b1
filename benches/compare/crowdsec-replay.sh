#!/usr/bin/env bash
# crowdsec-replay.sh — replay one log through Debian's CrowdSec (time-machine mode) with the
# stock collections from the package's offline hub, and list what it flagged.
#
#   crowdsec-replay.sh LOG OUTDIR [COLLECTION...]      (default collections: dovecot sshd)
#
# Builds a throwaway configuration in OUTDIR/cfg (its own SQLite database, its own Local API on a
# free loopback port, no Central API, no Prometheus), enables exactly the parsers and scenarios
# the chosen collections install (plus Debian's default syslog, date and private-address
# whitelist parsers), runs
#     crowdsec -c OUTDIR/cfg/config.yaml -dsn file://LOG -type syslog -no-capi
# which reads the file, raises alerts at the *log's* times, pushes them to its Local API and
# exits; the alerts are then read from that API's database. Writes
#     OUTDIR/cfg/data/crowdsec.db  the alerts as the Local API stored them
#     OUTDIR/flags.tsv     one line per alert: address<TAB>unix time of the overflow<TAB>scenario
#     OUTDIR/crowdsec.log  crowdsec's own log (CROWDSEC_WRAP, if set, prefixes the crowdsec command,
#                          e.g. `/usr/bin/time -v -o FILE`)
# Nothing under /etc/crowdsec or /var/lib/crowdsec is touched. Needs the `crowdsec` package
# (benches/compare/install-peers.sh).
set -euo pipefail

log=$(realpath "$1")
out=$2
shift 2
collections=("$@")
[ ${#collections[@]} -gt 0 ] || collections=(dovecot sshd)

hub=/usr/share/crowdsec/hub
[ -d "$hub" ] || { echo "crowdsec-replay: $hub missing; run benches/compare/install-peers.sh" >&2; exit 2; }
mkdir -p "$out"
out=$(realpath "$out")
cfg=$out/cfg
rm -rf "$cfg"
mkdir -p "$cfg"/{parsers/s00-raw,parsers/s01-parse,parsers/s02-enrich,scenarios,collections,postoverflows,data,acquis.d}

# Enable one hub item the way `cscli ... install` / Debian's postinst does: a symlink under the
# config dir without the vendor directory.
enable() { # kind/stage/vendor/name.yaml
    local item=$1 src=$hub/$1
    [ -f "$src" ] || { echo "crowdsec-replay: hub item $item missing" >&2; exit 2; }
    local dst
    dst=$cfg/$(dirname "$(dirname "$item")")/$(basename "$item")
    ln -sf "$src" "$dst"
}
# The parsers Debian enables by default for any syslog input (collection crowdsecurity/linux
# minus sshd, plus the private-address whitelist).
enable parsers/s00-raw/crowdsecurity/syslog-logs.yaml
enable parsers/s02-enrich/crowdsecurity/dateparse-enrich.yaml
enable parsers/s02-enrich/crowdsecurity/whitelists.yaml
# Each collection's parsers and scenarios, read from the collection file itself.
for c in "${collections[@]}"; do
    cf=$hub/collections/crowdsecurity/$c.yaml
    [ -f "$cf" ] || { echo "crowdsec-replay: no collection crowdsecurity/$c in $hub" >&2; exit 2; }
    enable "collections/crowdsecurity/$c.yaml"
    python3 - "$cf" <<'EOF' | while read -r item; do enable "$item"; done
import sys, re, glob, os
kind = None
hub = "/usr/share/crowdsec/hub"
for line in open(sys.argv[1]):
    m = re.match(r'^(\w+):\s*$', line)
    if m:
        kind = m.group(1)
        continue
    m = re.match(r'^\s*-\s*(\S+)\s*$', line)
    if m and kind in ("parsers", "scenarios", "postoverflows"):
        vendor, name = m.group(1).split("/", 1)
        for p in glob.glob(f"{hub}/{kind}/**/{vendor}/{name}.yaml", recursive=True):
            print(os.path.relpath(p, hub))
EOF
done
cp /etc/crowdsec/patterns -r "$cfg/patterns"
printf 'simulation: off\n' > "$cfg/simulation.yaml"
: > "$cfg/acquis.yaml"
# The stock profile (ban 4h on every IP alert), unchanged.
cp /etc/crowdsec/profiles.yaml "$cfg/profiles.yaml"

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat > "$cfg/config.yaml" <<EOF
common:
  daemonize: false
  log_media: file
  log_level: info
  log_dir: $out/
  working_dir: .
config_paths:
  config_dir: $cfg/
  data_dir: $cfg/data/
  simulation_path: $cfg/simulation.yaml
  hub_dir: $hub/
  index_path: $hub/.index.json
  notification_dir: $cfg/notifications/
  plugin_dir: /usr/lib/crowdsec/plugins/
crowdsec_service:
  acquisition_path: $cfg/acquis.yaml
  acquisition_dir: $cfg/acquis.d
  parser_routines: 1
cscli:
  output: json
db_config:
  log_level: warning
  type: sqlite
  db_path: $cfg/data/crowdsec.db
  use_wal: true
  flush:
    max_items: 1000000
    max_age: 3650d
api:
  client:
    insecure_skip_verify: false
    credentials_path: $cfg/local_api_credentials.yaml
  server:
    log_level: warning
    listen_uri: 127.0.0.1:$port
    profiles_path: $cfg/profiles.yaml
    console_path: $cfg/console.yaml
    trusted_ips:
      - 127.0.0.1
prometheus:
  enabled: false
  level: full
  listen_addr: 127.0.0.1
  listen_port: 0
EOF
printf 'share_manual_decisions: false\nshare_custom: false\nshare_tainted: false\nshare_context: false\n' > "$cfg/console.yaml"
cscli -c "$cfg/config.yaml" --error machines add replay --auto --force -f "$cfg/local_api_credentials.yaml" >/dev/null

cd "$out"
${CROWDSEC_WRAP:-} crowdsec -c "$cfg/config.yaml" -dsn "file://$log" -type syslog -no-capi > "$out/crowdsec.log" 2>&1
# The alerts, read from the replay's own Local API database (cscli would need the API still
# running; the database is what it reads). In replay, started_at/stopped_at are the log's times;
# stopped_at is the event that made the bucket overflow, i.e. when CrowdSec would have acted.
python3 - "$cfg/data/crowdsec.db" "$out/crowdsec.log" > "$out/flags.tsv" <<'EOF'
import sqlite3, sys
from datetime import datetime
db = sqlite3.connect(sys.argv[1])
rows = db.execute(
    "select source_value, stopped_at, scenario from alerts "
    "where lower(source_scope) = 'ip' order by stopped_at, id").fetchall()
for value, stopped, scenario in rows:
    ts = datetime.fromisoformat(str(stopped).replace("Z", "+00:00")).timestamp()
    print(f"{value}\t{ts:.0f}\t{scenario}")
# crowdsec logs one "<scope> <value> performed '<scenario>'" line per overflow; a shortfall in
# the database would mean alerts lost at shutdown.
logged = sum(1 for l in open(sys.argv[2], errors="replace") if " performed '" in l)
if logged != len(rows):
    print(f"crowdsec-replay: WARNING {logged} overflows logged but {len(rows)} alerts stored",
          file=sys.stderr)
EOF
echo "crowdsec-replay: $(wc -l < "$out/flags.tsv") alerts -> $out/flags.tsv" >&2
