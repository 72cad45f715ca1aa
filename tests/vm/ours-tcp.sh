#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# shellcheck disable=SC2317 # the checks are functions that check() calls
# vm.ours-tcp (one guest boot): our own client against the lab's ksmbd over TCP — the `smb3` tool
# (probe, put, get) and a fuse-smbd mount (dd write, read with caches dropped, O_DIRECT read), each
# sha256-checked on the server's side and the client's, everything with rdma=no (auto, the default,
# would choose SMB Direct in the lab). Our client over SMB Direct is vm.ours-rdma.
# Usage (in the guest, through scripts/smbdirect-lab run): ours-tcp.sh SMB3 FUSE_SMBD [MIB]
# shellcheck source=tests/vm/lib.sh
. "$(dirname "$0")/lib.sh"
smb3=$1
fuse_smbd=$2
mib=${3:-16}

vm_begin ours-tcp

creds=/tmp/vm-ours-credentials
src=/tmp/vm-ours-src.bin
unc=$SMB3_LAB_SHARE
setup() {
  # The password goes through a 0600 credentials file, never a command line.
  (umask 077 && printf 'username=%s\npassword=%s\n' "$SMB3_LAB_USER" "$SMB3_LAB_PASSWORD" >"$creds") &&
    dd if=/dev/urandom of="$src" bs=1M count="$mib" status=none &&
    src_sum=$(sha256sum "$src" | cut -d' ' -f1) && echo "source $mib MiB, sha256 $src_sum"
}
check setup setup

same_sum() { # FILE
  local sum
  sum=$(sha256sum "$1" | cut -d' ' -f1)
  echo "$1: sha256 $sum"
  [ "$sum" = "$src_sum" ] || { echo "differs from the source's $src_sum"; return 1; }
}

probe() {
  local out
  out=$(bounded 120 "$smb3" probe --json --rdma no -A "$creds" "$unc") || { echo "$out"; return 1; }
  echo "$out"
  vm_detail=$(echo "$out" | grep -oE '"dialect":"[^"]*"')
  grep -q '"transport":"tcp"' <<<"$out"
}
check smb3-probe probe
check smb3-put bounded 300 "$smb3" put --no-progress --rdma no -A "$creds" "$unc/ours.bin" "$src"
check smb3-put-server-copy same_sum "$SMB3_LAB_SHARE_DIR/ours.bin"
check smb3-get bounded 300 "$smb3" get --no-progress --rdma no -A "$creds" "$unc/ours.bin" /tmp/vm-ours-back.bin
check smb3-get-client-copy same_sum /tmp/vm-ours-back.bin


mnt=/mnt/vm-ours
mount_ours() {
  mkdir -p "$mnt" && bounded 120 "$fuse_smbd" "$unc" "$mnt" -o "credentials=$creds,rdma=no" &&
    grep " $mnt " /proc/mounts
}
read_cold() { # FROM TO: read with the page cache dropped first
  sync && echo 3 >/proc/sys/vm/drop_caches && bounded 300 dd if="$1" of="$2" bs=1M status=none
}
if check fuse-mount mount_ours; then
  check fuse-write bounded 300 dd if="$src" of="$mnt/fuse.bin" bs=1M conv=fsync status=none
  check fuse-write-server-copy same_sum "$SMB3_LAB_SHARE_DIR/fuse.bin"
  check fuse-read read_cold "$mnt/fuse.bin" /tmp/vm-ours-fuse.bin
  check fuse-read-client-copy same_sum /tmp/vm-ours-fuse.bin
  check fuse-direct-read bounded 300 dd if="$mnt/fuse.bin" of=/tmp/vm-ours-direct.bin bs=1M iflag=direct status=none
  check fuse-direct-read-client-copy same_sum /tmp/vm-ours-direct.bin
  check fuse-unmount bounded 60 fusermount3 -u "$mnt"
fi

vm_end
