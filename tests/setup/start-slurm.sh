#!/usr/bin/env bash
# A one-node Slurm cluster on this machine for the batch-job tests: slurmctld and slurmd
# (node "localhost", 2 CPUs), munge authentication. Idempotent: does nothing if a job
# can already run.
set -euo pipefail
conf=/etc/slurm/slurm.conf

ready() { timeout 20 srun -N1 -t 1 true >/dev/null 2>&1; }
if pgrep -x slurmctld >/dev/null && pgrep -x slurmd >/dev/null && ready; then
    exit 0
fi

mkdir -p /etc/slurm /var/spool/slurmctld /var/spool/slurmd /var/log/slurm
cpus=$(nproc)
cat > "$conf" <<CONF
# Written by armorbox tests/setup/start-slurm.sh
ClusterName=armorbox-test
SlurmctldHost=localhost
AuthType=auth/munge
CredType=cred/munge
SlurmUser=root
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
JobAcctGatherType=jobacct_gather/none
MpiDefault=none
ReturnToService=2
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmdSpoolDir=/var/spool/slurmd
StateSaveLocation=/var/spool/slurmctld
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
KillWait=5
NodeName=localhost CPUs=$cpus RealMemory=1000 State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP OverSubscribe=FORCE:4
CONF

pkill -x slurmctld 2>/dev/null || true
pkill -x slurmd 2>/dev/null || true
sleep 0.5
slurmctld -c -i
slurmd -N localhost
for _ in $(seq 60); do
    scontrol update nodename=localhost state=resume >/dev/null 2>&1 || true
    if ready; then
        exit 0
    fi
    sleep 0.5
done
echo "start-slurm: Slurm does not run jobs; see /var/log/slurm/*.log" >&2
tail -5 /var/log/slurm/slurmctld.log /var/log/slurm/slurmd.log >&2 || true
exit 1
