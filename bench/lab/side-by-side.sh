#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Guest side of bench/lab-side-by-side: the same dd and fio workloads through the kernel cifs client
# (SMB Direct and TCP) and through fuse-smbd (TCP, and SMB Direct), against the lab's one ksmbd, in
# one boot. TCG makes absolute figures meaningless: compare ratios.
#
# fuse-smbd over SMB Direct mounts with rdma=yes (READ/WRITE data by server-issued RDMA into our
# registered buffers); its `fuse-smbd stats --json` after the runs shows how many bytes went by RDMA
# and how many inline.
# Usage (in the guest): side-by-side.sh FUSE_SMBD MIB RUNS [all|rdma] [FUSE_OPTS]   (rdma: only the
# two SMB Direct clients, cifs and fuse-smbd, mounted together and their runs interleaved;
# FUSE_OPTS: more -o options for fuse-smbd, e.g. cache=loose for its writeback cache)
# shellcheck source=tests/vm/lib.sh
. "$(dirname "$0")/../../tests/vm/lib.sh"
fuse_smbd=$1
mib=${2:-64}
runs=${3:-3}
which=${4:-all}
extra=${5:+,$5}
creds=/tmp/bench-credentials
(umask 077 && printf 'username=%s\npassword=%s\n' "$SMB3_LAB_USER" "$SMB3_LAB_PASSWORD" >"$creds")
dd if=/dev/urandom of=/tmp/bench-src.bin bs=1M count="$mib" status=none

# MB/s of one dd (10^6 B/s), from its own report.
dd_rate() { dd "$@" 2>&1 | awk -F', ' 'END { split($NF, a, " "); v = a[1]; u = a[2];
  if (u == "GB/s") v *= 1000; else if (u == "kB/s") v /= 1000; print v }'; }
median() { sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
drop() { sync; echo 3 >/proc/sys/vm/drop_caches; }

measure() { # CLIENT MOUNTPOINT: prints "client write read direct_read fio_read fio_write" in MB/s
  local mnt=$2 w=() r=() d=() fr=() fw=() i
  for ((i = 0; i < runs; i++)); do
    rm -f "$mnt/b.bin"
    w+=("$(dd_rate if=/tmp/bench-src.bin of="$mnt/b.bin" bs=1M conv=fsync)")
    drop; r+=("$(dd_rate if="$mnt/b.bin" of=/dev/null bs=1M)")
    d+=("$(dd_rate if="$mnt/b.bin" of=/dev/null bs=1M iflag=direct)")
    drop
    fr+=("$(timeout 300 fio --name=r --filename="$mnt/b.bin" --rw=read --bs=1M --size="${mib}M" --ioengine=psync \
      --direct=1 --numjobs=1 --output-format=terse --terse-version=3 2>/dev/null | awk -F';' '{ print $7 / 1000 }')")
    fw+=("$(timeout 300 fio --name=w --filename="$mnt/f.bin" --rw=write --bs=1M --size="${mib}M" --ioengine=psync \
      --direct=1 --numjobs=1 --end_fsync=1 --output-format=terse --terse-version=3 2>/dev/null | awk -F';' '{ print $48 / 1000 }')")
  done
  echo "$1 $(printf '%s\n' "${w[@]}" | median) $(printf '%s\n' "${r[@]}" | median) $(printf '%s\n' "${d[@]}" | median)" \
    "$(printf '%s\n' "${fr[@]}" | median) $(printf '%s\n' "${fw[@]}" | median)"
}

# The rdma mode: both SMB Direct clients mounted at once and their runs interleaved (cifs, fuse-smbd,
# cifs, ...), so that load on the host (TCG shares its CPUs) weighs on both alike.
one_run() { # CLIENT MOUNTPOINT: appends "write read direct_read fio_read fio_write" to runs_<CLIENT>
  local mnt=$2 f="b-$1.bin" g="f-$1.bin" w r d fr fw
  rm -f "$mnt/$f"
  w=$(dd_rate if=/tmp/bench-src.bin of="$mnt/$f" bs=1M conv=fsync)
  drop; r=$(dd_rate if="$mnt/$f" of=/dev/null bs=1M)
  d=$(dd_rate if="$mnt/$f" of=/dev/null bs=1M iflag=direct)
  drop
  fr=$(timeout 300 fio --name=r --filename="$mnt/$f" --rw=read --bs=1M --size="${mib}M" --ioengine=psync \
    --direct=1 --numjobs=1 --output-format=terse --terse-version=3 2>/dev/null | awk -F';' '{ print $7 / 1000 }')
  fw=$(timeout 300 fio --name=w --filename="$mnt/$g" --rw=write --bs=1M --size="${mib}M" --ioengine=psync \
    --direct=1 --numjobs=1 --end_fsync=1 --output-format=terse --terse-version=3 2>/dev/null | awk -F';' '{ print $48 / 1000 }')
  echo "$w $r $d $fr $fw" >>"/tmp/runs-$1"
  echo "run $1: $w $r $d $fr $fw" >&2
}
medians() { # CLIENT: the median of each column of /tmp/runs-CLIENT
  local c out="$1"
  for c in 1 2 3 4 5; do out+=" $(awk -v c=$c '{ print $c }' "/tmp/runs-$1" | median)"; done
  echo "$out"
}

results=()
mkdir -p /mnt/b-cifs-rdma /mnt/b-cifs-tcp /mnt/b-fuse-tcp /mnt/b-fuse-rdma
o="vers=3.1.1,username=$SMB3_LAB_USER,password=$SMB3_LAB_PASSWORD,cache=strict"
if [ "$which" = rdma ]; then
  rm -f /tmp/runs-cifs-smbdirect /tmp/runs-fuse-smbd-smbdirect
  bounded 120 mount -t cifs "$SMB3_LAB_SHARE" /mnt/b-cifs-rdma -o "rdma,$o"
  bounded 120 "$fuse_smbd" "$SMB3_LAB_SHARE" /mnt/b-fuse-rdma -o "credentials=$creds,rdma=yes$extra"
  for ((i = 0; i < runs; i++)); do
    one_run cifs-smbdirect /mnt/b-cifs-rdma
    one_run fuse-smbd-smbdirect /mnt/b-fuse-rdma
  done
  results+=("$(medians cifs-smbdirect)")
  umount /mnt/b-cifs-rdma
elif bounded 120 mount -t cifs "$SMB3_LAB_SHARE" /mnt/b-cifs-rdma -o "rdma,$o"; then
  results+=("$(measure cifs-smbdirect /mnt/b-cifs-rdma)"); umount /mnt/b-cifs-rdma
fi
if [ "$which" = all ] && bounded 120 mount -t cifs "$SMB3_LAB_SHARE" /mnt/b-cifs-tcp -o "$o"; then
  results+=("$(measure cifs-tcp /mnt/b-cifs-tcp)"); umount /mnt/b-cifs-tcp
fi
if [ "$which" = all ] && bounded 120 "$fuse_smbd" "$SMB3_LAB_SHARE" /mnt/b-fuse-tcp -o "credentials=$creds,rdma=no$extra"; then
  results+=("$(measure fuse-smbd-tcp /mnt/b-fuse-tcp)"); fusermount3 -u /mnt/b-fuse-tcp
fi
if [ "$which" = rdma ] && mountpoint -q /mnt/b-fuse-rdma; then
  results+=("$(medians fuse-smbd-smbdirect)")
fi
if [ "$which" = rdma ] && mountpoint -q /mnt/b-fuse-rdma ||
  { [ "$which" = all ] && bounded 120 "$fuse_smbd" "$SMB3_LAB_SHARE" /mnt/b-fuse-rdma -o "credentials=$creds,rdma=yes$extra"; }; then
  [ "$which" = rdma ] || results+=("$(measure fuse-smbd-smbdirect /mnt/b-fuse-rdma)")
  stats=$(bounded 30 "$fuse_smbd" stats /mnt/b-fuse-rdma --json | tr ',{}' '\n\n\n')
  grep -E '"(bytes_read|bytes_written|bytes_rdma_read|bytes_rdma_write|bytes_inline|bytes_copied_rdma|rdma_data_path|rdma_mechanism|rdma_acquire_waits|rdma_acquire_wait_us|rdma_acquire_exhausted|credit_stalls|max_read|max_write)"' <<<"$stats" |
    sed 's/^/fuse-smbd over SMB Direct: /'
  # Bytes our code copied (into or out of registered memory) per byte the server moved by RDMA.
  awk -F: '{ gsub(/[" ]/, "", $1); v[$1] = $2 }
    END { m = v["bytes_rdma_read"] + v["bytes_rdma_write"];
      if (m > 0) printf "fuse-smbd over SMB Direct: bytes copied per byte moved by RDMA: %.3f (%.0f / %.0f)\n", v["bytes_copied_rdma"] / m, v["bytes_copied_rdma"], m }' <<<"$stats"
  fusermount3 -u /mnt/b-fuse-rdma
fi

echo
echo "Lab side by side ($mib MiB, median of $runs, MB/s under TCG; ratio = fuse-smbd / reference; fuse-smbd -o ...${extra:-} over the defaults, cifs cache=strict)"
echo
echo "| client | dd write | dd read (cold) | dd O_DIRECT read | fio seq read 1M direct | fio seq write 1M direct |"
echo "|---|---:|---:|---:|---:|---:|"
for r in "${results[@]}"; do
  read -r name a b c d e <<<"$r"
  echo "| $name | $a | $b | $c | $d | $e |"
done
ratio() { awk -v x="$1" -v y="$2" 'BEGIN { if (y > 0) printf "%.2f", x / y; else printf "-" }'; }
row_of() { local r; for r in "${results[@]}"; do [[ $r == "$1 "* ]] && echo "$r"; done; }
# fuse-smbd over TCP against both kernel rows; fuse-smbd over SMB Direct against cifs over SMB Direct.
for pair in "fuse-smbd-tcp cifs-smbdirect" "fuse-smbd-tcp cifs-tcp" "fuse-smbd-smbdirect cifs-smbdirect"; do
  read -r mine ref <<<"$pair"
  m=$(row_of "$mine") r=$(row_of "$ref")
  [ -n "$m" ] && [ -n "$r" ] || continue
  read -r _ oa ob oc od oe <<<"$m"
  read -r _ a b c d e <<<"$r"
  echo "| $mine / $ref | $(ratio "$oa" "$a") | $(ratio "$ob" "$b") | $(ratio "$oc" "$c") | $(ratio "$od" "$d") | $(ratio "$oe" "$e") |"
done
if [ "$which" = all ]; then [ ${#results[@]} -eq 4 ]; else [ ${#results[@]} -eq 2 ]; fi
