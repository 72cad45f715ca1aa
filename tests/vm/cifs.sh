#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# shellcheck disable=SC2317 # the checks are functions that check() calls
# vm.cifs (one guest boot): the reference. The kernel's cifs client, rebuilt with SMB Direct, mounts the
# lab's ksmbd share over RDMA and over TCP and moves data both ways, checked by sha256 on both sides.
# Over RDMA, rxe's counters show the bulk data went by RDMA READ/WRITE rather than by SENDs.
# Usage (in the guest, through scripts/smbdirect-lab run): cifs.sh [MIB]   (file size, default 16)
# shellcheck source=tests/vm/lib.sh
. "$(dirname "$0")/lib.sh"
mib=${1:-16}
bytes=$((mib * 1024 * 1024))
counters=/sys/class/infiniband/$SMB3_LAB_RDMA_DEV/ports/1/hw_counters
# [MS-SMBD] 3.1.1.1: the default Connection.MaxSendSize; no SEND carries more.
max_send_size=1364

vm_begin cifs

src=/tmp/vm-cifs-src.bin
make_source() {
  dd if=/dev/urandom of="$src" bs=1M count="$mib" status=none &&
    src_sum=$(sha256sum "$src" | cut -d' ' -f1) && echo "source $mib MiB, sha256 $src_sum"
}
check source-file make_source

# timed_dd DD-ARGS...: dd, with its rate as the check's detail.
timed_dd() {
  local out rc
  out=$(bounded 300 dd "$@" 2>&1)
  rc=$?
  echo "$out"
  vm_detail=$(echo "$out" | tail -n1 | awk -F', ' 'NF >= 3 { print $NF }')
  return "$rc"
}
same_sum() { # FILE
  local sum
  sum=$(sha256sum "$1" | cut -d' ' -f1)
  echo "$1: sha256 $sum"
  [ "$sum" = "$src_sum" ] || { echo "differs from the source's $src_sum"; return 1; }
}
drop_caches() { sync && echo 3 >/proc/sys/vm/drop_caches; }

mount_share() { # rdma|tcp MOUNTPOINT
  local options="vers=3.1.1,username=$SMB3_LAB_USER,password=$SMB3_LAB_PASSWORD"
  [ "$1" = rdma ] && options="rdma,$options"
  mkdir -p "$2"
  bounded 120 mount -t cifs "$SMB3_LAB_SHARE" "$2" -o "$options" || return 1
  grep " $2 cifs " /proc/mounts
  sed -n '/^Servers:/,$p' /proc/fs/cifs/DebugData
}
uses_smbdirect() {
  cat /proc/fs/cifs/DebugData
  grep -q 'SMBDirect.* protocol version: 100' /proc/fs/cifs/DebugData
}

write_file() { # MOUNTPOINT NAME
  timed_dd if="$src" of="$1/$2" bs=1M conv=fsync && same_sum "$SMB3_LAB_SHARE_DIR/$2"
}
read_file() { # MOUNTPOINT NAME
  drop_caches && timed_dd if="$1/$2" of=/tmp/vm-cifs-back.bin bs=1M && same_sum /tmp/vm-cifs-back.bin
}
write_direct() { # MOUNTPOINT NAME
  timed_dd if="$src" of="$1/$2" bs=1M oflag=direct && same_sum "$SMB3_LAB_SHARE_DIR/$2"
}
read_direct() { # MOUNTPOINT NAME
  timed_dd if="$1/$2" of=/tmp/vm-cifs-back.bin bs=1M iflag=direct && same_sum /tmp/vm-cifs-back.bin
}

rxe_counter() { cat "$counters/$1" 2>/dev/null || echo 0; }
snapshot_counters() {
  packets0=$(rxe_counter sent_pkts)
  sends0=$(rxe_counter rdma_sends)
}
# The data crossed rxe (at least one packet per MTU-sized chunk of it), but SENDs could have carried
# only a small part of it: the bulk went by RDMA READ/WRITE.
moved_by_rdma_rw() { # BYTES-MOVED
  local packets=$(($(rxe_counter sent_pkts) - packets0)) sends=$(($(rxe_counter rdma_sends) - sends0))
  local mtu
  mtu=$(ibv_devinfo -d "$SMB3_LAB_RDMA_DEV" | awk '/active_mtu/ { print $2 }')
  vm_detail="rxe sent_pkts +$packets, rdma_sends +$sends for $(($1 >> 20)) MiB"
  echo "$vm_detail; active_mtu $mtu"
  [ "$packets" -ge $(($1 / ${mtu:-4096})) ] || { echo "too few packets for the data moved"; return 1; }
  [ $((sends * max_send_size * 8)) -lt "$1" ] || { echo "SENDs could have carried the data"; return 1; }
}
bypassed_rdma() {
  local packets=$(($(rxe_counter sent_pkts) - packets0))
  vm_detail="rxe sent_pkts +$packets"
  echo "$vm_detail"
  [ "$packets" -lt 100 ]
}

for transport in rdma tcp; do
  mnt=/mnt/vm-$transport
  snapshot_counters
  if ! check "$transport-mount" mount_share "$transport" "$mnt"; then
    continue
  fi
  [ "$transport" = rdma ] && check rdma-session-is-smbdirect uses_smbdirect
  check "$transport-write" write_file "$mnt" "$transport.bin"
  check "$transport-read" read_file "$mnt" "$transport.bin"
  check "$transport-direct-write" write_direct "$mnt" "$transport-direct.bin"
  check "$transport-direct-read" read_direct "$mnt" "$transport-direct.bin"
  if [ "$transport" = rdma ]; then
    check rdma-bulk-by-rdma-read-write moved_by_rdma_rw $((4 * bytes))
  else
    check tcp-bypasses-rdma bypassed_rdma
  fi
  check "$transport-unmount" bounded 60 umount "$mnt"
done

vm_end
