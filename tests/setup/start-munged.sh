#!/usr/bin/env bash
# Starts munged (as the munge user, as its systemd unit would) unless one already answers.
set -euo pipefail
if munge -n </dev/null 2>/dev/null | unmunge >/dev/null 2>&1; then
    exit 0
fi
[ -s /etc/munge/munge.key ] || { echo "start-munged: /etc/munge/munge.key is missing (reinstall munge)" >&2; exit 1; }
install -d -o munge -g munge -m 0755 /run/munge
install -d -o munge -g munge -m 0700 /var/log/munge /var/lib/munge
runuser -u munge -- /usr/sbin/munged
for _ in $(seq 50); do
    munge -n </dev/null 2>/dev/null | unmunge >/dev/null 2>&1 && exit 0
    sleep 0.1
done
echo "start-munged: munged started but does not answer (see /var/log/munge/munged.log)" >&2
exit 1
