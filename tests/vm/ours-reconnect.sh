#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# shellcheck disable=SC2317 # the checks are functions that check() calls
# vm.ours-reconnect (one guest boot): a fuse-smbd mount over SMB Direct (-o rdma=yes,cache=none, so
# every write goes to the server as it is made) while ksmbd is stopped and started again under a
# writer that holds its file open. The mount must reconnect over SMB Direct (stats: reconnects >= 1,
# transport smbdirect) and move data by RDMA afterwards (a fresh write and a cold read of the whole
# file, sha256-checked on both sides).
#
# What the interrupted writer sees depends on what the server kept, and the client's reconnect log
# line ("open files: N recovered by durable reconnect, P re-opened by path, M lost") says which: a handle re-established through its durable
# handle v2 must let the write complete with the source's sha256; a lost handle must fail the writer
# with EIO, and what reached the server must be exactly the source's first bytes (never wrong data;
# README "Reconnect", fuse-smbd(8)). The lab's ksmbd cannot grant durable handles (ksmbd-tools 3.4.7
# has no "durable handles" setting, and ksmbd 6.12 grants none without it), so here it is EIO.
# Usage (in the guest, through scripts/smbdirect-lab run): ours-reconnect.sh FUSE_SMBD [MIB]
# shellcheck source=tests/vm/lib.sh
. "$(dirname "$0")/lib.sh"
fuse_smbd=$1
mib=${2:-64}

vm_begin ours-reconnect

creds=/tmp/vm-ours-reconnect-credentials
src=/tmp/vm-ours-reconnect-src.bin
mnt=/mnt/vm-ours-reconnect
file=reconnect.bin
server_copy=$SMB3_LAB_SHARE_DIR/$file

setup() {
  (umask 077 && printf 'username=%s\npassword=%s\n' "$SMB3_LAB_USER" "$SMB3_LAB_PASSWORD" >"$creds") &&
    dd if=/dev/urandom of="$src" bs=1M count="$mib" status=none &&
    src_sum=$(sha256sum "$src" | cut -d' ' -f1) && echo "source: $mib MiB sha256 $src_sum"
}
check setup setup

same_sum() { # FILE SUM
  local sum
  sum=$(sha256sum "$1" | cut -d' ' -f1)
  echo "$1: sha256 $sum"
  [ "$sum" = "$2" ] || { echo "differs from the source's $2"; return 1; }
}

mount_ours() {
  mkdir -p "$mnt" || return 1
  timeout 3000 "$fuse_smbd" "$SMB3_LAB_SHARE" "$mnt" -f -o "credentials=$creds,rdma=yes,cache=none,verbose" \
    >"$vm_dir/fuse-smbd.log" 2>&1 </dev/null &
  for _ in $(seq 1 120); do
    grep -q " $mnt " /proc/mounts && { grep " $mnt " /proc/mounts; return 0; }
    sleep 1
  done
  cat "$vm_dir/fuse-smbd.log"
  return 1
}
stats_now() { bounded 60 "$fuse_smbd" stats "$mnt" --json; }
stat_field() { # JSON FIELD: the first numeric FIELD in the stats JSON
  echo "$1" | grep -oE "\"$2\":[0-9]+" | head -n 1 | cut -d: -f2
}
# The transport is SMB Direct and the mount has reconnected at least WANT times.
link_state() { # WANT
  local out n
  out=$(stats_now) || { echo "$out"; return 1; }
  echo "$out"
  n=$(stat_field "$out" reconnects)
  vm_detail="reconnects ${n:-none}, $(echo "$out" | grep -oE '"kind":"[^"]*"')"
  echo "$vm_detail (want reconnects >= $1, kind smbdirect)"
  [ "${n:-0}" -ge "$1" ] && grep -q '"kind":"smbdirect"' <<<"$out"
}
bytes0() { # remember the mount's byte counters before a transfer
  local out
  out=$(stats_now) || { echo "$out"; return 1; }
  rdma_read0=$(stat_field "$out" bytes_rdma_read) rdma_write0=$(stat_field "$out" bytes_rdma_write)
  inline0=$(stat_field "$out" bytes_inline)
  if [ -z "$rdma_read0" ] || [ -z "$rdma_write0" ] || [ -z "$inline0" ]; then
    echo "$out"
    return 1
  fi
  echo "bytes_rdma_read $rdma_read0, bytes_rdma_write $rdma_write0, bytes_inline $inline0"
}
by_rdma() { # FIELD MIB: since bytes0, FIELD grew by at least MIB MiB and inline bytes by < 1/64 of it
  local out field=$1 want=$(($2 << 20)) moved inline before
  out=$(stats_now) || { echo "$out"; return 1; }
  echo "$out"
  case $field in bytes_rdma_read) before=$rdma_read0 ;; *) before=$rdma_write0 ;; esac
  moved=$(($(stat_field "$out" "$field") - before))
  inline=$(($(stat_field "$out" bytes_inline) - inline0))
  vm_detail="$field +$moved, bytes_inline +$inline"
  echo "$vm_detail (want $field >= $want, bytes_inline < $((want / 64)))"
  [ "$moved" -ge "$want" ] && [ "$inline" -lt $((want / 64)) ]
}

# One dd holds the file open from the first byte to the last; a feeder paces its input (1 MiB every
# 0.2 s) so that the restart lands mid-file, during a write or between two. The check returns once a
# quarter of the file has reached the server.
writer_err=/tmp/vm-ours-reconnect-writer.err
start_writer() {
  local quarter=$((mib << 18)) size=0
  {
    for i in $(seq 0 $((mib - 1))); do
      dd if="$src" bs=1M skip="$i" count=1 status=none || exit 1
      sleep 0.2
    done
  } 2>/dev/null | bounded 900 dd of="$mnt/$file" bs=1M iflag=fullblock conv=fsync status=none 2>"$writer_err" &
  writer_pid=$!
  for _ in $(seq 1 600); do
    size=$(stat -c %s "$server_copy" 2>/dev/null || echo 0)
    [ "$size" -ge "$quarter" ] && break
    kill -0 "$writer_pid" 2>/dev/null || break
    sleep 0.5
  done
  vm_detail="server copy at $((size >> 20)) MiB"
  echo "$vm_detail"
  [ "$size" -ge "$quarter" ] && kill -0 "$writer_pid" 2>/dev/null
}
restart_ksmbd() {
  local size
  size=$(stat -c %s "$server_copy")
  ksmbd_restart 3 || return 1
  vm_detail="stopped at a server copy of $((size >> 20)) MiB"
}
# The writer's outcome, judged by what the client logged about the open at the reconnect.
writer_outcome() {
  local rc line recovered reopened lost size
  wait "$writer_pid"
  rc=$?
  echo "writer status $rc; its stderr:"
  cat "$writer_err"
  line=$(grep -E 'reconnected to .* open files: [0-9]+ recovered' "$vm_dir/fuse-smbd.log" | tail -n 1)
  echo "client: ${line:-no reconnect logged}"
  [ -n "$line" ] || return 1
  # "open files: R recovered by durable reconnect, P re-opened by path, L lost"; a handle re-opened
  # by path is kept too (the server's file is the one the client opened), so it counts as recovered.
  recovered=$(echo "$line" | sed -nE 's/.*open files: ([0-9]+) recovered.*/\1/p')
  reopened=$(echo "$line" | sed -nE 's/.*, ([0-9]+) re-opened by path.*/\1/p')
  lost=$(echo "$line" | sed -nE 's/.*, ([0-9]+) lost.*/\1/p')
  if [ -z "$recovered" ] || [ -z "$reopened" ] || [ -z "$lost" ]; then
    echo "cannot read the counts in the reconnect log line"
    return 1
  fi
  recovered=$((recovered + reopened))
  size=$(stat -c %s "$server_copy") || return 1
  if [ "$recovered" -ge 1 ] && [ "$lost" -eq 0 ]; then
    vm_detail="handle recovered (durable v2): write completed"
    [ "$rc" -eq 0 ] && same_sum "$server_copy" "$src_sum"
  elif [ "$lost" -ge 1 ] && [ "$recovered" -eq 0 ]; then
    vm_detail="handle lost (no durable handle): EIO to the writer, server copy = the source's first $size bytes"
    if [ "$rc" -eq 0 ] || [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
      echo "want a failed write, not status $rc (124/137: timed out)"
      return 1
    fi
    grep -q 'Input/output error' "$writer_err" || { echo "want EIO"; return 1; }
    if [ "$size" -le 0 ] || [ "$size" -ge $((mib << 20)) ]; then
      echo "want a partial server copy, not $size bytes"
      return 1
    fi
    cmp -n "$size" "$server_copy" "$src" || { echo "the server copy is not the source's first $size bytes"; return 1; }
  else
    echo "want the one open recovered or lost, not $recovered recovered and $lost lost"
    return 1
  fi
  echo "$vm_detail"
}
rewrite() { bounded 900 dd if="$src" of="$mnt/$file" bs=1M conv=fsync status=none; }
read_cold() { sync && echo 3 >/proc/sys/vm/drop_caches && bounded 900 dd if="$mnt/$file" of="$1" bs=1M status=none; }

if check fuse-mount-rdma-yes mount_ours; then
  check link-before link_state 0
  if check writer-started start_writer; then
    check ksmbd-restart restart_ksmbd
    check writer-outcome writer_outcome
  fi
  check link-after-reconnect link_state 1
  # After the reconnect, a new open moves the whole file by RDMA, both ways.
  check write-bytes-before bytes0
  check write-after-reconnect rewrite
  check write-after-reconnect-by-rdma by_rdma bytes_rdma_read "$mib"
  check write-after-reconnect-server-copy same_sum "$server_copy" "$src_sum"
  check read-bytes-before bytes0
  check read-after-reconnect read_cold /tmp/vm-ours-reconnect-back.bin
  check read-after-reconnect-by-rdma by_rdma bytes_rdma_write "$mib"
  check read-after-reconnect-client-copy same_sum /tmp/vm-ours-reconnect-back.bin "$src_sum"
  check fuse-unmount bounded 60 fusermount3 -u "$mnt"
fi
echo "fuse-smbd's log (last lines):"
tail -n 40 "$vm_dir/fuse-smbd.log"

vm_end
