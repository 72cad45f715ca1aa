# SPDX-License-Identifier: LGPL-2.1-or-later
# bench/lib.sh: helpers shared by the benchmark scripts. Source it, do not run it:
#
#   #!/usr/bin/env bash
#   set -euo pipefail
#   source "$(dirname "$0")/lib.sh"
#   bench_init                        # root check, EXIT trap, scratch tmpfs
#   bench_samba_start                 # tuned smbd on a tmpfs share; sets BENCH_SAMBA_*
#   f=$(bench_make_file 1024)         # 1 GiB of random data on tmpfs
#   read -r ours ref <<<"$(bench_ab "our-client get ..." "bench_smbclient -c 'get f /dev/null'")"
#   bench_table_header; bench_table_row "get 1 GiB, GB/s" "$(bench_gbps $((1024 << 20)) "$ours")" ...
#
# Conventions (bench/README.md): wall seconds, medians of BENCH_RUNS runs (default 3), GB/s = 10^9 B/s,
# every number next to a reference measured in the same run, ratio = ours / reference.
#
# Environment: BENCH_RUNS (runs per median, default 3), BENCH_WORK (scratch root, default
# /var/tmp/fuse-smbd-bench), BENCH_LOG (where measured commands' output goes, default
# $BENCH_WORK/commands.log), BENCH_TMPFS_MB (size of the scratch tmpfs, default 8192).

BENCH_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BENCH_REPO=$(cd "$BENCH_LIB_DIR/.." && pwd)
BENCH_SAMBA_CTL=$BENCH_REPO/tests/support/samba-ctl
BENCH_RUNS=${BENCH_RUNS:-3}
BENCH_WORK=${BENCH_WORK:-/var/tmp/fuse-smbd-bench}
BENCH_LOG=${BENCH_LOG:-$BENCH_WORK/commands.log}
BENCH_TMPFS_MB=${BENCH_TMPFS_MB:-8192}
BENCH_DATA=""               # the scratch tmpfs (set by bench_init)
BENCH_SAMBA_DIRS=()         # instances to stop on exit
BENCH_MOUNTS=()             # tmpfs mounts to undo on exit

# The script that sourced this file. bench_die in a subshell ($(...), a pipeline) signals it, so
# that a failed measurement stops the bench even where set -e cannot see the failure.
BENCH_MAIN_PID=$$
trap 'exit 1' USR1

bench_die() {
  echo "bench: $*" >&2
  [ "$BASHPID" = "$BENCH_MAIN_PID" ] || kill -USR1 "$BENCH_MAIN_PID" 2>/dev/null
  exit 1
}

# Exits with a clear message unless every named command exists.
bench_require() {
  local cmd
  for cmd in "$@"; do
    command -v "$cmd" >/dev/null || bench_die "'$cmd' not found; install it (scripts/install-deps) or build it"
  done
}

# Root check, scratch tmpfs at $BENCH_WORK/data (BENCH_DATA), cleanup on exit. Call once, first.
bench_init() {
  [ "$(id -u)" -eq 0 ] || bench_die "run benchmarks as root: they start smbd and mount tmpfs"
  bench_require awk sort smbclient
  mkdir -p "$BENCH_WORK"
  : >"$BENCH_LOG"
  trap bench_cleanup EXIT
  trap 'exit 130' INT TERM
  BENCH_DATA=$BENCH_WORK/data
  mkdir -p "$BENCH_DATA"
  if ! mountpoint -q "$BENCH_DATA"; then
    mount -t tmpfs -o "size=${BENCH_TMPFS_MB}m,mode=0755" fuse-smbd-bench "$BENCH_DATA" \
      || bench_die "cannot mount a tmpfs on $BENCH_DATA"
    BENCH_MOUNTS+=("$BENCH_DATA")
  fi
}

# EXIT trap: stops the Samba instances and unmounts the tmpfs this script started.
bench_cleanup() {
  local dir mnt
  for dir in "${BENCH_SAMBA_DIRS[@]}"; do
    bash "$BENCH_SAMBA_CTL" stop "$dir" >/dev/null 2>&1 || echo "bench: could not stop smbd in $dir" >&2
  done
  BENCH_SAMBA_DIRS=()
  for mnt in "${BENCH_MOUNTS[@]}"; do
    umount "$mnt" 2>/dev/null || echo "bench: could not unmount $mnt" >&2
  done
  BENCH_MOUNTS=()
}

# One line about the machine and its load: benches are noisy, the report should say under what.
bench_machine() {
  echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $(uname -r), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
}

# CPU time PID has used, in clock ticks (getconf CLK_TCK per second): user + system, and with
# "children" also that of the children it has waited for; 0 when PID has gone.
bench_proc_cpu() { # PID [children]
  local f
  f=$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null) || { echo 0; return; }
  if [ "${2:-}" = children ]; then awk '{ print $12 + $13 + $14 + $15 }' <<<"$f"; else awk '{ print $12 + $13 }' <<<"$f"; fi
}

# --- timing ---------------------------------------------------------------------------------------

# Runs CMD... once; prints its wall time in seconds. Its output is appended to BENCH_LOG; a failing
# command stops the bench (exit 1) with the tail of its output.
bench_time() {
  local start end rc=0 out
  out=$(mktemp "$BENCH_WORK/run.XXXXXX")
  start=$(date +%s.%N)
  "$@" >"$out" 2>&1 || rc=$?
  end=$(date +%s.%N)
  { echo "### $*"; cat "$out"; } >>"$BENCH_LOG"
  if [ "$rc" != 0 ]; then
    tail -n 20 "$out" >&2
    rm -f "$out"
    bench_die "command failed (exit $rc): $*"
  fi
  rm -f "$out"
  awk -v s="$start" -v e="$end" 'BEGIN { printf "%.4f\n", e - s }'
}

# Median of the numbers on stdin (one per line; for an even count, the mean of the middle two).
bench_median_of() {
  sort -g | awk '{ v[NR] = $1 } END {
    if (NR == 0) exit 1
    if (NR % 2) printf "%.4f\n", v[(NR + 1) / 2]; else printf "%.4f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# "median min max" of the numbers on stdin.
bench_stats_of() {
  sort -g | awk '{ v[NR] = $1 } END {
    if (NR == 0) exit 1
    m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
    printf "%.4f %.4f %.4f\n", m, v[1], v[NR] }'
}

# Runs CMD... BENCH_RUNS times; prints the median wall seconds.
bench_median() {
  local i t
  local -a times=()
  for ((i = 0; i < BENCH_RUNS; i++)); do
    t=$(bench_time "$@") || exit 1
    times+=("$t")
  done
  printf '%s\n' "${times[@]}" | bench_median_of
}

# Runs two shell command strings alternately (ours, reference, ours, ...) BENCH_RUNS times each, so
# drift of the machine hits both alike; prints "ours_median reference_median" in seconds.
# BENCH_BEFORE, if set, is a command string run (untimed) before every timed run, e.g. removing the
# file a put will create, or dropping caches.
bench_ab() {
  local ours=$1 ref=$2 i t
  local -a ours_t=() ref_t=()
  for ((i = 0; i < BENCH_RUNS; i++)); do
    [ -n "${BENCH_BEFORE:-}" ] && { bash -c "$BENCH_BEFORE" >>"$BENCH_LOG" 2>&1 || bench_die "BENCH_BEFORE failed: $BENCH_BEFORE"; }
    t=$(bench_time bash -c "$ours") || exit 1
    ours_t+=("$t")
    [ -n "${BENCH_BEFORE:-}" ] && { bash -c "$BENCH_BEFORE" >>"$BENCH_LOG" 2>&1 || bench_die "BENCH_BEFORE failed: $BENCH_BEFORE"; }
    t=$(bench_time bash -c "$ref") || exit 1
    ref_t+=("$t")
  done
  echo "$(printf '%s\n' "${ours_t[@]}" | bench_median_of) $(printf '%s\n' "${ref_t[@]}" | bench_median_of)"
}

# --- arithmetic and reporting -------------------------------------------------------------------

# GB/s (10^9 bytes per second) for BYTES moved in SECONDS, two decimals.
bench_gbps() {
  awk -v b="$1" -v s="$2" 'BEGIN { if (s <= 0) { print "inf"; exit } printf "%.2f\n", b / s / 1e9 }'
}

# Operations per second for COUNT operations in SECONDS, no decimals.
bench_rate() {
  awk -v n="$1" -v s="$2" 'BEGIN { if (s <= 0) { print "inf"; exit } printf "%.0f\n", n / s }'
}

# OURS / REFERENCE, two decimals ("-" if either is not a positive number).
bench_ratio() {
  awk -v a="$1" -v b="$2" 'BEGIN {
    if (a !~ /^[0-9.]+$/ || b !~ /^[0-9.]+$/ || b + 0 == 0) { print "-"; exit }
    printf "%.2f\n", a / b }'
}

# Markdown table: header, then one row per measurement. The ratio is ours / reference unless given
# (for times, where lower is better, pass the ratio as reference / ours and say so in WHAT).
bench_table_header() {
  echo "| what | ours | reference | ratio |"
  echo "|---|---:|---:|---:|"
}

bench_table_row() {
  local what=$1 ours=$2 ref=$3 ratio=${4:-}
  [ -n "$ratio" ] || ratio=$(bench_ratio "$ours" "$ref")
  echo "| $what | $ours | $ref | $ratio |"
}

# --- data ---------------------------------------------------------------------------------------

# Creates a file of MIB MiB of random data (incompressible; SMB3 here does no compression either)
# on the scratch tmpfs and prints its path. NAME defaults to data-<MIB>m; an existing file of the
# right size is reused.
bench_make_file() {
  local mib=$1 name=${2:-data-${1}m}
  [[ $mib =~ ^[0-9]+$ ]] || bench_die "bench_make_file: '$mib' is not a number of MiB"
  [ -n "$BENCH_DATA" ] || bench_die "bench_make_file: call bench_init first"
  local path=$BENCH_DATA/$name
  if [ ! -f "$path" ] || [ "$(stat -c %s "$path")" != $((mib * 1048576)) ]; then
    dd if=/dev/urandom of="$path" bs=1M count="$mib" status=none || bench_die "cannot write $path (tmpfs full? raise BENCH_TMPFS_MB)"
  fi
  echo "$path"
}

# Drops the page cache (before cold-read measurements).
bench_drop_caches() {
  sync
  echo 3 >/proc/sys/vm/drop_caches
}

# --- Samba ----------------------------------------------------------------------------------------

# Starts a tuned smbd (the baseline tuning of shared/baseline is samba-ctl's default) serving a
# tmpfs share, in DIR (default $BENCH_WORK/samba); extra samba-ctl options follow DIR (e.g.
# --signing mandatory, --encrypt required). Sets BENCH_SAMBA_DIR, BENCH_SAMBA_PORT,
# BENCH_SAMBA_SHARE (the tmpfs directory smbd serves), BENCH_SAMBA_CREDS (mount.cifs credentials),
# BENCH_SAMBA_CONF (client.conf for smbclient), BENCH_SAMBA_UNC (//127.0.0.1/share). Stopped on exit.
bench_samba_start() {
  local dir=${1:-$BENCH_WORK/samba}
  [ $# -gt 0 ] && shift
  bash "$BENCH_SAMBA_CTL" stop "$dir" >/dev/null 2>&1 || true
  bash "$BENCH_SAMBA_CTL" start "$dir" --share-tmpfs --owner-pid $$ "$@" >>"$BENCH_LOG" 2>&1 \
    || { tail -n 30 "$BENCH_LOG" >&2; bench_die "samba-ctl start $dir failed (above)"; }
  BENCH_SAMBA_DIRS+=("$dir")
  BENCH_SAMBA_DIR=$dir
  BENCH_SAMBA_PORT=$(bash "$BENCH_SAMBA_CTL" port "$dir")
  BENCH_SAMBA_SHARE=$dir/share
  BENCH_SAMBA_CREDS=$dir/credentials
  BENCH_SAMBA_CONF=$dir/etc/client.conf
  BENCH_SAMBA_UNC=//127.0.0.1/share
  export BENCH_SAMBA_DIR BENCH_SAMBA_PORT BENCH_SAMBA_SHARE BENCH_SAMBA_CREDS BENCH_SAMBA_CONF BENCH_SAMBA_UNC
}

# Stops the instance in DIR (default: the last one started).
bench_samba_stop() {
  local dir=${1:-${BENCH_SAMBA_DIR:-}} d
  [ -n "$dir" ] || return 0
  bash "$BENCH_SAMBA_CTL" stop "$dir" >/dev/null || bench_die "samba-ctl stop $dir failed"
  local -a keep=()
  for d in "${BENCH_SAMBA_DIRS[@]}"; do [ "$d" = "$dir" ] || keep+=("$d"); done
  BENCH_SAMBA_DIRS=("${keep[@]}")
}

# smbclient against the bench server (the reference client): bench_smbclient -c "get f /dev/null".
bench_smbclient() {
  smbclient -s "$BENCH_SAMBA_CONF" -p "$BENCH_SAMBA_PORT" -m SMB3 -A "$BENCH_SAMBA_CREDS" \
    "$BENCH_SAMBA_UNC" "$@"
}
# Command strings run by bench_ab (bash -c) may call these.
export -f bench_smbclient
export BENCH_LOG
