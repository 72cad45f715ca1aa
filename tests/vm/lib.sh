# SPDX-License-Identifier: LGPL-2.1-or-later
# shellcheck shell=bash
# Sourced (bash) by the vm tier's guest scripts, which scripts/smbdirect-lab runs as root inside the guest
# with the SMB3_LAB_* environment set (see tests/vm/README.md).
#
#   vm_begin SUITE                 start a suite; per-check logs go to $SMB3_LAB_LOG_DIR/SUITE/
#   check NAME COMMAND [ARG...]    run one check, output to NAME.log; print "PASS|FAIL SUITE/NAME (time)"
#                                  and, on failure, the log's tail. COMMAND may be a shell function; it
#                                  runs in this shell, so it may set variables; vm_detail="..." is
#                                  appended to the PASS/FAIL line
#   vm_end                         print "SUITE: N passed, M failed"; exit 1 if any check failed
#   bounded SECONDS COMMAND...     COMMAND with a timeout: every client and server in the guest has one
#   wait_listen PORT SECONDS       until a TCP socket or an RDMA CM id listens on PORT
#   pair PORT "SERVER" "CLIENT"    a verbs server/client pair, both bounded; fails unless both succeed
#   lab_gid_index                  the GID index of $SMB3_LAB_ADDR (RoCE v2, IPv4-mapped) on the rxe device
#   ksmbd_restart DOWN_SECONDS     stop ksmbd as an administrator would (ksmbd.control --shutdown: every
#                                  connection and open is dropped), keep it down DOWN_SECONDS, start
#                                  ksmbd.mountd again as the lab does (log: ksmbd-mountd-restart.log) and
#                                  wait for its SMB Direct and TCP listeners

: "${SMB3_LAB_LOG_DIR:?run this through scripts/smbdirect-lab run}"
vm_suite=""
vm_dir=""
vm_passed=0
vm_failed=0
vm_detail=""

vm_uptime() { cut -d' ' -f1 /proc/uptime; }

vm_begin() {
  vm_suite=$1
  vm_dir=$SMB3_LAB_LOG_DIR/$vm_suite
  rm -rf "$vm_dir"
  mkdir -p "$vm_dir"
  echo "== vm.$vm_suite: kernel $(uname -r), lab services: ${SMB3_LAB_SERVICES:-unknown}, logs in $vm_dir"
}

check() {
  local name=$1
  shift
  local log=$vm_dir/$name.log start rc
  start=$(vm_uptime)
  vm_detail=""
  { echo "# $*"; "$@"; } >"$log" 2>&1 </dev/null
  rc=$?
  local took
  took=$(awk -v a="$start" -v b="$(vm_uptime)" 'BEGIN { printf "%.1f s", b - a }')
  if [ "$rc" -eq 0 ]; then
    vm_passed=$((vm_passed + 1))
    echo "PASS $vm_suite/$name ($took${vm_detail:+; $vm_detail})"
  else
    vm_failed=$((vm_failed + 1))
    echo "FAIL $vm_suite/$name (status $rc, $took${vm_detail:+; $vm_detail}); last lines of $log:"
    tail -n 15 "$log" | sed 's/^/    /'
  fi
  return "$rc"
}

vm_end() {
  echo "== vm.$vm_suite: $vm_passed passed, $vm_failed failed"
  [ "$vm_failed" -eq 0 ]
  exit $?
}

bounded() {
  local seconds=$1
  shift
  timeout --kill-after=5 "$seconds" "$@"
}

wait_listen() {
  local port=$1 tries=$(($2 * 5))
  while [ "$tries" -gt 0 ]; do
    ss -ltnH "sport = :$port" 2>/dev/null | grep -q . && return 0
    rdma resource show cm_id 2>/dev/null | grep -qE "LISTEN.*:$port( |$)" && return 0
    sleep 0.2
    tries=$((tries - 1))
  done
  echo "nothing listens on port $port after $2 s"
  return 1
}

pair() {
  local port=$1 server=$2 client=$3 server_pid client_rc server_rc
  echo "# server: $server"
  bounded 60 sh -c "$server" >"$vm_dir/server.tmp" 2>&1 &
  server_pid=$!
  if ! wait_listen "$port" 30; then
    kill "$server_pid" 2>/dev/null
    wait "$server_pid"
    cat "$vm_dir/server.tmp"
    return 1
  fi
  echo "# client: $client"
  bounded 60 sh -c "$client"
  client_rc=$?
  wait "$server_pid"
  server_rc=$?
  echo "# server output (status $server_rc):"
  cat "$vm_dir/server.tmp"
  rm -f "$vm_dir/server.tmp"
  echo "# client status $client_rc, server status $server_rc"
  [ "$client_rc" -eq 0 ] && [ "$server_rc" -eq 0 ]
}

lab_gid_index() {
  local gid f a b c d
  IFS=. read -r a b c d <<<"$SMB3_LAB_ADDR"
  gid=$(printf '0000:0000:0000:0000:0000:ffff:%02x%02x:%02x%02x' "$a" "$b" "$c" "$d")
  for f in /sys/class/infiniband/"$SMB3_LAB_RDMA_DEV"/ports/1/gids/*; do
    if [ "$(cat "$f" 2>/dev/null)" = "$gid" ]; then
      basename "$f"
      return 0
    fi
  done
  return 1
}

ksmbd_listening() { # rdma|tcp: ksmbd listens on :445
  case $1 in
    rdma) rdma resource show cm_id 2>/dev/null | grep -qE 'LISTEN.*\[ksmbd\].*:445( |$)' ;;
    *) ss -ltnH 'sport = :445' 2>/dev/null | grep -q . ;;
  esac
}

ksmbd_restart() {
  local down=$1
  echo "# ksmbd.control --shutdown"
  bounded 30 ksmbd.control --shutdown || return 1
  # The shutdown stops ksmbd.mountd and has the kernel drop its listeners and connections.
  for _ in $(seq 1 150); do
    if ! pgrep -x ksmbd.mountd >/dev/null && ! ksmbd_listening rdma && ! ksmbd_listening tcp; then
      break
    fi
    sleep 0.2
  done
  if pgrep -x ksmbd.mountd >/dev/null || ksmbd_listening rdma || ksmbd_listening tcp; then
    echo "ksmbd still up 30 s after the shutdown:"
    pgrep -ax ksmbd.mountd
    rdma resource show cm_id
    return 1
  fi
  echo "# ksmbd down (mountd gone, no listener on :445); starting it again in $down s"
  sleep "$down"
  timeout 3000 ksmbd.mountd -n -v >>"$SMB3_LAB_LOG_DIR/ksmbd-mountd-restart.log" 2>&1 </dev/null &
  for _ in $(seq 1 150); do
    ksmbd_listening rdma && ksmbd_listening tcp && { echo "# ksmbd up again"; rdma resource show cm_id; return 0; }
    sleep 0.2
  done
  echo "ksmbd's listeners are not back 30 s after ksmbd.mountd started; its log:"
  tail -n 20 "$SMB3_LAB_LOG_DIR/ksmbd-mountd-restart.log"
  return 1
}
