# The clusters that tests/slurm/compare.sh and bench/mpi_launch.sh run side by side on this
# machine (sourced by them, as root): start_clusters starts a one-node Slurm 22.05 (munged, MariaDB,
# slurmdbd, slurmctld, slurmd) under $BASE/slurm and a `gwang up` under $BASE/gwang, each with one
# node of this host's name, 2 CPUs and a default partition named main; start_two_node_clusters
# then a Slurm of two nodes, n1 and n2 (two slurmd on this host), and a gwang controller with two
# agents of those names. Installs slurm-wlm, slurmdbd, mariadb-server, Open MPI and MPICH from
# Debian if missing. Stops what it started when the script exits. Ports 26817-26824 must be free.
# Sets SLURM_CONF, S2 (the two-node Slurm's directory), G (gwang's Slurm commands), GWANG_BIN and
# GCTL (how gwang's commands reach the two-node controller).
set -u
export LC_ALL=C
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${1:-$ROOT/build}
GWANG_BIN=$(cd "$BUILD" && pwd)/gwang
BASE=${BASE:-/tmp/gwang-slurm-compare}
HOST=$(hostname -s)
CTLD_PORT=26817 SLURMD_PORT=26818 DBD_PORT=26819 DB_PORT=26820 CTLD2_PORT=26821 N1_PORT=26822 N2_PORT=26823
GCTL_PORT=26824
PIDS=()

note() { printf '# %s\n' "$*" >&2; }
die() { note "$*"; exit 2; }
[ "$(id -u)" = 0 ] || die "run as root (slurmd runs as root, and packages may need installing)"
[ -x "$GWANG_BIN" ] || die "$GWANG_BIN: build gwang first (scripts/build)"

cleanup() {
  trap - EXIT INT TERM
  if [ -n "${SLURM_CONF:-}" ]; then timeout 20 scancel --quiet --user=root >/dev/null 2>&1; fi
  local i
  for (( i = ${#PIDS[@]} - 1; i >= 0; i-- )); do
    kill -TERM "${PIDS[$i]}" 2>/dev/null
    for _ in $(seq 100); do kill -0 "${PIDS[$i]}" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "${PIDS[$i]}" 2>/dev/null
  done
}
trap cleanup EXIT
trap 'exit 2' INT TERM


start_clusters() {
# ------------------------------------------------------------------ Slurm
need="slurmctld slurmd slurmdbd sbatch squeue sacct sacctmgr scontrol munged mungekey mariadbd mariadb-install-db mariadb
      mpicc.openmpi mpirun.openmpi mpicc.mpich mpirun.mpich tmux"
missing=""
for c in $need; do command -v "$c" >/dev/null 2>&1 || missing="$missing $c"; done
if [ -n "$missing" ]; then
  note "installing slurm-wlm, slurmdbd, mariadb-server, Open MPI, MPICH and tmux (missing:$missing)"
  timeout 600 apt-get update -qq >&2 || die "apt-get update failed"
  DEBIAN_FRONTEND=noninteractive timeout 1200 apt-get install -y -qq --no-install-recommends \
    slurm-wlm slurmctld slurmd slurm-client munge slurmdbd mariadb-server \
    openmpi-bin libopenmpi-dev mpich libmpich-dev tmux >&2 || die "apt-get install failed"
fi
for p in $CTLD_PORT $SLURMD_PORT $DBD_PORT $DB_PORT $CTLD2_PORT $N1_PORT $N2_PORT $GCTL_PORT; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then die "port $p is in use"; fi
done
rm -rf "$BASE"
S=$BASE/slurm
mkdir -p "$S"/{etc,state,spool,log,run,munge,msock,db} "$BASE/gwang" "$BASE/work"
chmod 755 "$BASE" "$S" "$S/msock" "$BASE/work"
chmod 700 "$S/munge"
DB_PASS=$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
cat >"$S/etc/slurm.conf" <<EOF
ClusterName=compare
SlurmctldHost=$HOST(127.0.0.1)
SlurmctldPort=$CTLD_PORT
SlurmdPort=$SLURMD_PORT
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$S/msock/munge.sock
StateSaveLocation=$S/state
SlurmdSpoolDir=$S/spool
SlurmctldPidFile=$S/run/slurmctld.pidfile
SlurmdPidFile=$S/run/slurmd.pidfile
SlurmctldLogFile=$S/log/slurmctld.log
SlurmdLogFile=$S/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/affinity
MpiDefault=none
SwitchType=switch/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerNode=1024
SlurmdParameters=config_overrides
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=127.0.0.1
AccountingStoragePort=$DBD_PORT
AccountingStoragePass=$S/msock/munge.sock
JobAcctGatherType=jobacct_gather/none
MaxArraySize=1001
Licenses=fluent:1,matlab:2
ReturnToService=2
MinJobAge=300
NodeName=$HOST NodeAddr=127.0.0.1 CPUs=2 RealMemory=8192 State=UNKNOWN
PartitionName=main Nodes=$HOST Default=YES MaxTime=INFINITE State=UP
EOF
( umask 077; cat >"$S/etc/slurmdbd.conf" <<EOF
AuthType=auth/munge
AuthInfo=socket=$S/msock/munge.sock
DbdHost=$HOST
DbdAddr=127.0.0.1
DbdPort=$DBD_PORT
SlurmUser=root
StorageType=accounting_storage/mysql
StorageHost=127.0.0.1
StoragePort=$DB_PORT
StorageUser=slurm
StoragePass=$DB_PASS
StorageLoc=slurm_acct_db
LogFile=$S/log/slurmdbd.log
PidFile=$S/run/slurmdbd.pidfile
EOF
)
export SLURM_CONF=$S/etc/slurm.conf
unset SLURM_JOB_ID SLURM_JOBID SBATCH_ACCOUNT

start() { # name, then the command: runs it in the background, remembers its pid
  local name=$1; shift
  "$@" >"$S/log/$name.out" 2>&1 &
  PIDS+=($!)
}
wait_for() { # seconds, then a command that succeeds once ready
  local end=$(( SECONDS + $1 )); shift
  while [ $SECONDS -lt $end ]; do "$@" >/dev/null 2>&1 && return 0; sleep 0.2; done
  return 1
}
note "starting Slurm under $S"
mungekey --create --keyfile="$S/munge/munge.key" >&2 || die "mungekey failed"
start munged munged -F --key-file="$S/munge/munge.key" --socket="$S/msock/munge.sock" \
  --pid-file="$S/msock/munged.pid" --log-file="$S/log/munged.log" --seed-file="$S/munge/munged.seed"
wait_for 20 sh -c "munge -n -S $S/msock/munge.sock | unmunge -S $S/msock/munge.sock" || die "munged did not start"
timeout 120 mariadb-install-db --no-defaults --datadir="$S/db/data" --user=root \
  --auth-root-authentication-method=normal --skip-test-db >"$S/log/mariadb-install.log" 2>&1 || die "mariadb-install-db failed"
start mariadbd mariadbd --no-defaults --datadir="$S/db/data" --socket="$S/db/mysql.sock" --port=$DB_PORT \
  --bind-address=127.0.0.1 --user=root --pid-file="$S/db/mariadbd.pid" --log-error="$S/log/mariadbd.err"
wait_for 60 mariadb --no-defaults -S "$S/db/mysql.sock" -u root -e 'SELECT 1' || die "mariadbd did not start"
mariadb --no-defaults -S "$S/db/mysql.sock" -u root -e \
  "CREATE USER 'slurm'@'127.0.0.1' IDENTIFIED BY '$DB_PASS'; CREATE USER 'slurm'@'localhost' IDENTIFIED BY '$DB_PASS';
   GRANT ALL ON slurm_acct_db.* TO 'slurm'@'127.0.0.1'; GRANT ALL ON slurm_acct_db.* TO 'slurm'@'localhost';" ||
  die "could not make the database user"
SLURM_CONF_DBD=$S/etc/slurmdbd.conf
start slurmdbd env SLURM_CONF="$SLURM_CONF" slurmdbd -D -s
wait_for 60 sacctmgr -n list cluster || die "slurmdbd did not start (see $S/log)"
timeout 30 sacctmgr -i add cluster compare >/dev/null || die "sacctmgr add cluster failed"
start slurmctld slurmctld -D -f "$SLURM_CONF"
wait_for 60 squeue -h || die "slurmctld did not start (see $S/log)"
start slurmd slurmd -D -f "$SLURM_CONF"
wait_for 60 sh -c "sinfo -h -o %T | grep -qx idle" || die "the Slurm node did not come up (see $S/log)"
: "$SLURM_CONF_DBD"

# ------------------------------------------------------------------ gwang
note "starting gwang up under $BASE/gwang"
start gwang "$GWANG_BIN" up --data "$BASE/gwang" --listen 127.0.0.1:0 --user root --allow-root --no-nvml --cpus 2 \
  --cluster-name compare --licenses fluent:1,matlab:2
wait_for 30 test -s "$BASE/gwang/url" || die "gwang up did not start (see $S/log/gwang.out)"
G=$BASE/gbin
mkdir -p "$G"
"$GWANG_BIN" slurm install "$G" >/dev/null || die "gwang slurm install failed"

}

start_two_node_clusters() {
# ------------------------------------------------------------------ two nodes
# A second Slurm, of two nodes n1 and n2 (two slurmd on this host, no accounting), next to a
# gwang controller with two agents of the same names: srun's layouts, variables, warnings and
# ends on two nodes, in both.
S2=$BASE/slurm2
mkdir -p "$S2"/{etc,state,spool,log,run} "$S2"/tmp/{n1,n2} "$BASE/gctl" "$BASE/gn1" "$BASE/gn2"
sed -e "s|^ClusterName=.*|ClusterName=two|; s|^SlurmctldPort=.*|SlurmctldPort=$CTLD2_PORT|" \
    -e "s|^StateSaveLocation=.*|StateSaveLocation=$S2/state|; s|^SlurmdSpoolDir=.*|SlurmdSpoolDir=$S2/spool/%n|" \
    -e "s|^SlurmctldPidFile=.*|SlurmctldPidFile=$S2/run/slurmctld.pid|; s|^SlurmdPidFile=.*|SlurmdPidFile=$S2/run/slurmd-%n.pid|" \
    -e "s|^SlurmctldLogFile=.*|SlurmctldLogFile=$S2/log/slurmctld.log|; s|^SlurmdLogFile=.*|SlurmdLogFile=$S2/log/slurmd-%n.log|" \
    -e "/^Accounting/d; /^NodeName=/d; /^PartitionName=/d" "$SLURM_CONF" >"$S2/etc/slurm.conf"
# Each node's own scratch (mpi/pmix keeps its steps' directories there: the two slurmd share /tmp).
echo "TmpFS=$S2/tmp/%n" >>"$S2/etc/slurm.conf"
{
  echo "NodeName=n1 NodeHostname=$HOST NodeAddr=127.0.0.1 Port=$N1_PORT CPUs=2 RealMemory=4096 State=UNKNOWN"
  echo "NodeName=n2 NodeHostname=$HOST NodeAddr=127.0.0.1 Port=$N2_PORT CPUs=2 RealMemory=4096 State=UNKNOWN"
  echo "PartitionName=main Nodes=n[1-2] Default=YES MaxTime=INFINITE State=UP"
} >>"$S2/etc/slurm.conf"
start slurmctld2 slurmctld -D -f "$S2/etc/slurm.conf"
wait_for 60 env SLURM_CONF="$S2/etc/slurm.conf" squeue -h || die "the second slurmctld did not start (see $S2/log)"
start slurmd-n1 slurmd -D -N n1 -f "$S2/etc/slurm.conf"
start slurmd-n2 slurmd -D -N n2 -f "$S2/etc/slurm.conf"
wait_for 60 sh -c "SLURM_CONF=$S2/etc/slurm.conf sinfo -h -o '%D %T' | grep -qx '2 idle'" || die "n1 and n2 did not come up"
od -An -N24 -tx1 /dev/urandom | tr -d ' \n' >"$BASE/gsecret"
chmod 600 "$BASE/gsecret"
printf 'listen = "127.0.0.1:%s"\ndata_dir = "%s"\ncluster_secret_file = "%s"\noperator = "root"\nkill_grace = "1s"\ncluster_name = "two"\n[licenses]\nfluent = 1\nmatlab = 2\n' \
  "$GCTL_PORT" "$BASE/gctl" "$BASE/gsecret" >"$BASE/gctl.toml"
start gwang-controller "$GWANG_BIN" controller --config "$BASE/gctl.toml"
wait_for 30 test -s "$BASE/gctl/token" || die "gwang controller did not start (see $S/log/gwang-controller.out)"
for n in n1 n2; do
  printf 'controller = "http://127.0.0.1:%s"\nnode_name = "%s"\ndata_dir = "%s"\ncluster_secret_file = "%s"\n' \
    "$GCTL_PORT" "$n" "$BASE/g$n" "$BASE/gsecret" >"$BASE/g$n.toml"
  printf 'allow_root = true\nnvml = false\nkill_grace = "1s"\nsync_wait = "1s"\n' >>"$BASE/g$n.toml"
  start "gwang-agent-$n" "$GWANG_BIN" agent --config "$BASE/g$n.toml"
done
GCTL="GWANG_URL=http://127.0.0.1:$GCTL_PORT GWANG_TOKEN=$(cat "$BASE/gctl/token")"
wait_for 30 sh -c "env $GCTL $G/sinfo -h -o '%D' | grep -qx 2" || die "gwang's agents did not come up"
}
