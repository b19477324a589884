#!/usr/bin/env bash
# Stops the guest started in WORKDIR.
work=${1:?usage: stop.sh WORKDIR}
[ -f "$work/pid" ] && kill "$(cat "$work/pid")" 2>/dev/null
exit 0
