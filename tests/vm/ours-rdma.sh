#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# shellcheck disable=SC2317 # the checks are functions that check() calls
# vm.ours-rdma (one guest boot): our own client against the lab's ksmbd over SMB Direct (soft-RoCE)
# — the `smb3` tool with --rdma yes (probe says SMB Direct; put and get with the data by RDMA;
# put --sign, whose data must go inline) and a fuse-smbd mount with -o rdma=yes (dd write, read
# with caches dropped, the data by RDMA: `fuse-smbd stats --json` must count it as RDMA bytes with
# next to nothing inline), each sha256-checked on the server's side and the client's. rxe's
# counters before and after each transfer go into the check's detail.
#
# Every transfer here binds each registered buffer's memory window many times (one bind per
# READ/WRITE, the freed buffer handed out first): until 2026-11-23 a window's second bind was
# refused by rdma_rxe (stale ibv_mw::rkey, see VerbsEndpoint::Bind), so any transfer reusing a
# buffer lost the connection.
# Usage (in the guest, through scripts/smbdirect-lab run): ours-rdma.sh SMB3 FUSE_SMBD [MIB [FUSE_MIB]]
# shellcheck source=tests/vm/lib.sh
. "$(dirname "$0")/lib.sh"
smb3=$1
fuse_smbd=$2
mib=${3:-16}
fuse_mib=${4:-256}

vm_begin ours-rdma

creds=/tmp/vm-ours-rdma-credentials
src=/tmp/vm-ours-rdma-src.bin
fsrc=/tmp/vm-ours-rdma-fuse-src.bin
unc=$SMB3_LAB_SHARE
counters=/sys/class/infiniband/$SMB3_LAB_RDMA_DEV/ports/1/hw_counters
rxe_counter() { cat "$counters/$1" 2>/dev/null || echo 0; }
snapshot() { sends0=$(rxe_counter rdma_sends); reads0=$(rxe_counter rdma_reads); writes0=$(rxe_counter rdma_writes 2>/dev/null); }
moved() { # what rxe saw since snapshot, as the check's detail
  vm_detail="rxe rdma_sends +$(($(rxe_counter rdma_sends) - sends0))"
  [ -e "$counters/rdma_reads" ] && vm_detail+=", rdma_reads +$(($(rxe_counter rdma_reads) - reads0))"
  [ -e "$counters/rdma_writes" ] && vm_detail+=", rdma_writes +$(($(rxe_counter rdma_writes) - writes0))"
  echo "$vm_detail"
}

setup() {
  # The password goes through a 0600 credentials file, never a command line.
  (umask 077 && printf 'username=%s\npassword=%s\n' "$SMB3_LAB_USER" "$SMB3_LAB_PASSWORD" >"$creds") &&
    dd if=/dev/urandom of="$src" bs=1M count="$mib" status=none &&
    dd if=/dev/urandom of="$fsrc" bs=1M count="$fuse_mib" status=none &&
    src_sum=$(sha256sum "$src" | cut -d' ' -f1) && fsrc_sum=$(sha256sum "$fsrc" | cut -d' ' -f1) &&
    echo "sources: $mib MiB sha256 $src_sum, $fuse_mib MiB sha256 $fsrc_sum" && ls "$counters"
}
check setup setup

same_sum() { # FILE SUM
  local sum
  sum=$(sha256sum "$1" | cut -d' ' -f1)
  echo "$1: sha256 $sum"
  [ "$sum" = "$2" ] || { echo "differs from the source's $2"; return 1; }
}

probe() { # POLICY: the transport must be SMB Direct
  local out
  out=$(bounded 120 "$smb3" probe --json --rdma "$1" -A "$creds" "$unc") || { echo "$out"; return 1; }
  echo "$out"
  vm_detail=$(echo "$out" | grep -oE '"transport_reason":"[^"]*"')
  grep -q '"transport":"smbdirect"' <<<"$out"
}
check smb3-probe-rdma-yes probe yes
check smb3-probe-rdma-auto probe auto

# Inline first (signing keeps the data out of RDMA), then the data by RDMA: the get reads the
# inline-written file (the server RDMA-WRITEs into our buffers), the last put has the server
# RDMA-READ from them.
put_signed() { snapshot && bounded 600 "$smb3" put --no-progress --json --sign --rdma yes -A "$creds" "$unc/ours-rdma-signed.bin" "$src" && moved; }
inline_only() { grep -q '"bytes_rdma_read":0' "$vm_dir/smb3-put-signed.log"; }
get() { snapshot && bounded 600 "$smb3" get --no-progress --json --rdma yes -A "$creds" "$unc/ours-rdma-signed.bin" /tmp/vm-ours-rdma-back.bin && moved; }
put() { snapshot && bounded 600 "$smb3" put --no-progress --json --rdma yes -A "$creds" "$unc/ours-rdma.bin" "$src" && moved; }
check smb3-put-signed put_signed
check smb3-put-signed-inline inline_only
check smb3-put-signed-server-copy same_sum "$SMB3_LAB_SHARE_DIR/ours-rdma-signed.bin" "$src_sum"
# All of the transfer's data went by RDMA, none inline (no buffer ever lacked), and no bind failed.
all_by_rdma() { # CHECK: its log's JSON
  local log=$vm_dir/$1.log bound
  bound=$(grep -oE '"rdma_windows_bound":[0-9]+' "$log" | cut -d: -f2)
  vm_detail="rdma_windows_bound ${bound:-none}"
  echo "$vm_detail"
  [ "${bound:-0}" -gt 0 ] && grep -q '"bytes_inline":0,' "$log" && grep -q '"rdma_bind_failures":0' "$log"
}
check smb3-get get
check smb3-get-client-copy same_sum /tmp/vm-ours-rdma-back.bin "$src_sum"
check smb3-get-by-rdma all_by_rdma smb3-get
check smb3-put put
check smb3-put-server-copy same_sum "$SMB3_LAB_SHARE_DIR/ours-rdma.bin" "$src_sum"
check smb3-put-by-rdma all_by_rdma smb3-put

mnt=/mnt/vm-ours-rdma
# In the foreground (in the background of this script) so that its log lands with the checks'.
mount_ours() {
  local i
  mkdir -p "$mnt" || return 1
  timeout 3000 "$fuse_smbd" "$unc" "$mnt" -f -o "credentials=$creds,rdma=yes,verbose" \
    >"$vm_dir/fuse-smbd.log" 2>&1 </dev/null &
  for i in $(seq 1 120); do
    grep -q " $mnt " /proc/mounts && { grep " $mnt " /proc/mounts; return 0; }
    sleep 1
  done
  cat "$vm_dir/fuse-smbd.log"
  return 1
}
stats_smbdirect() {
  local out
  out=$(bounded 60 "$fuse_smbd" stats "$mnt" --json) || { echo "$out"; return 1; }
  echo "$out"
  grep -q '"kind":"smbdirect"' <<<"$out"
}
stat_field() { # JSON FIELD: the first numeric FIELD in the stats JSON
  echo "$1" | grep -oE "\"$2\":[0-9]+" | head -n 1 | cut -d: -f2
}
stats_now() { bounded 60 "$fuse_smbd" stats "$mnt" --json; }
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
fuse_write() { snapshot && bounded 900 dd if="$fsrc" of="$mnt/fuse-rdma.bin" bs=1M conv=fsync status=none && moved; }
read_cold() { # FROM TO: read with the page cache dropped first
  sync && echo 3 >/proc/sys/vm/drop_caches && snapshot && bounded 900 dd if="$1" of="$2" bs=1M status=none && moved
}
# Unsigned: the mount's READ/WRITE data goes by RDMA ([MS-SMB2] 3.2.4.6-7), and its stats say so —
# bytes_rdma_read counts what the server RDMA-read from us (our writes), bytes_rdma_write what it
# RDMA-wrote into our buffers (our reads).
if check fuse-mount-rdma-yes mount_ours; then
  check fuse-stats-smbdirect stats_smbdirect
  check fuse-write-bytes-before bytes0
  check fuse-write fuse_write
  check fuse-write-by-rdma by_rdma bytes_rdma_read "$fuse_mib"
  check fuse-write-server-copy same_sum "$SMB3_LAB_SHARE_DIR/fuse-rdma.bin" "$fsrc_sum"
  check fuse-read-bytes-before bytes0
  check fuse-read read_cold "$mnt/fuse-rdma.bin" /tmp/vm-ours-rdma-fuse.bin
  check fuse-read-by-rdma by_rdma bytes_rdma_write "$fuse_mib"
  check fuse-read-client-copy same_sum /tmp/vm-ours-rdma-fuse.bin "$fsrc_sum"
  check fuse-stats-after bounded 60 "$fuse_smbd" stats "$mnt" --json
  check fuse-unmount bounded 60 fusermount3 -u "$mnt"
fi
echo "fuse-smbd's log (last lines):"
tail -n 40 "$vm_dir/fuse-smbd.log"

vm_end
