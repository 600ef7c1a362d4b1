#!/usr/bin/env bash
# install-peers.sh — install the peers portcullis is compared with, from Debian, offline-safe and
# idempotent: fail2ban, crowdsec, plus hyperfine and GNU time for the measurements.
#
# CrowdSec's postinst registers the machine with the online Central API (`cscli capi register`)
# unless /etc/crowdsec/online_api_credentials.yaml already exists and is non-empty
# (README.Debian, "Local API and Central API"); it then sets up the *offline* hub shipped in
# /usr/share/crowdsec/hub. So we pre-create that file with a comment, and we keep both daemons
# from being started by the install (a temporary /usr/sbin/policy-rc.d answering 101, honoured by
# invoke-rc.d and deb-systemd-invoke): the comparison runs them in replay only. Needs root
# (or sudo) and Debian's package mirror; nothing else is fetched.
set -euo pipefail

need=()
command -v fail2ban-regex >/dev/null || need+=(fail2ban)
command -v crowdsec >/dev/null && command -v cscli >/dev/null || need+=(crowdsec)
command -v hyperfine >/dev/null || need+=(hyperfine)
[ -x /usr/bin/time ] || need+=(time)
if [ ${#need[@]} -eq 0 ]; then
    exit 0
fi

SUDO=
[ "$(id -u)" -eq 0 ] || SUDO=sudo
echo "install-peers: installing ${need[*]} from Debian" >&2

capi=/etc/crowdsec/online_api_credentials.yaml
if [[ " ${need[*]} " == *" crowdsec "* ]] && ! $SUDO test -s "$capi"; then
    $SUDO mkdir -p /etc/crowdsec
    echo '# no thanks: offline install for benches/compare (no Central API registration)' |
        $SUDO tee "$capi" >/dev/null
fi

policy=/usr/sbin/policy-rc.d
made_policy=
if ! $SUDO test -e "$policy"; then
    printf '#!/bin/sh\n# benches/compare/install-peers.sh: do not start daemons during install\nexit 101\n' |
        $SUDO tee "$policy" >/dev/null
    $SUDO chmod 755 "$policy"
    made_policy=1
fi
cleanup() { [ -z "$made_policy" ] || $SUDO rm -f "$policy"; }
trap cleanup EXIT

export DEBIAN_FRONTEND=noninteractive
if ! $SUDO apt-get install -y --no-install-recommends "${need[@]}"; then
    $SUDO apt-get update
    $SUDO apt-get install -y --no-install-recommends "${need[@]}"
fi
command -v fail2ban-regex >/dev/null && command -v crowdsec >/dev/null && command -v hyperfine >/dev/null
echo "install-peers: $(fail2ban-regex --version 2>&1 | head -1); crowdsec $(crowdsec -version 2>&1 | sed -n 's/.*version: //p' | head -1)" >&2
