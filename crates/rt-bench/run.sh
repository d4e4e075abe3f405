#!/usr/bin/env bash
# boros-rt against tokio (current_thread) and the raw boros driver, alternating in one run.
#   crates/rt-bench/run.sh [FILE] [SECONDS]
# FILE: a cached file on ext4 (default: the files bench's 1 GiB file). Echo servers run on CPU 0,
# the native load generator (crates/boros/examples/echo_client.rs) on CPU 1.
set -euo pipefail
cd "$(dirname "$0")/../.."
file=${1:-.bench-data/big-1024MiB.bin}
secs=${2:-5}
cargo build --release -q -p boros --example randread --example echo_client -p boros-rt --example bench_read --example echo -p rt-bench
t=target/release
cat "$file" > /dev/null
echo "== random 4 KiB reads, 64 in flight (reads/s)"
for round in 1 2 3; do
  echo "raw driver  $($t/examples/randread --file "$file" --qd 64 --seconds "$secs" | grep -o '"ops_per_sec":[0-9]*')"
  echo "boros-rt    $($t/examples/bench_read --file "$file" --qd 64 --seconds "$secs" | grep -o '"ops_per_sec":[0-9]*')"
  echo "tokio::fs   $($t/tokio_read --file "$file" --qd 64 --seconds "$secs" | grep -o '"ops_per_sec":[0-9]*')"
done
echo "== echo, 64 connections x 64 B (requests/s; server on CPU 0, client on CPU 1)"
port=7470
for round in 1 2 3; do
  for s in boros-rt tokio; do
    port=$((port + 1))
    if [ $s = boros-rt ]; then taskset -c 0 $t/examples/echo 127.0.0.1:$port 2>/dev/null & else taskset -c 0 $t/tokio_echo 127.0.0.1:$port 2>/dev/null & fi
    pid=$!
    # Wait until the server accepts connections.
    for _ in $(seq 1 50); do (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.1; done
    echo "$s  $(taskset -c 1 $t/examples/echo_client --addr 127.0.0.1:$port --conns 64 --size 64 --seconds "$secs" | tr '\n' ' ')"
    kill $pid; wait $pid 2>/dev/null || true
  done
done
