#!/usr/bin/env bash
# Runs a command in the guest: ssh.sh WORKDIR USER COMMAND...
set -euo pipefail
work=${1:?usage: ssh.sh WORKDIR USER COMMAND...}
user=${2:?}
shift 2
image=${ARMORBOX_CACHE:-/var/cache/armorbox}/vm-bullseye
exec ssh -q -i "$image/id_ed25519" -p "$(cat "$work/port")" \
    -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o ConnectTimeout=5 -o BatchMode=yes \
    "$user@127.0.0.1" "$@"
