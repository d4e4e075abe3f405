#!/usr/bin/env bash
# boros-rt against tokio (current_thread), monoio, compio and the raw boros driver, in one run,
# contenders alternating within each round; medians of the rounds at the end.
#   crates/rt-bench/run.sh [FILE] [SECONDS] [ROUNDS]
# FILE: a file on ext4 for the random reads and the copy (default .bench-data/big-1024MiB.bin,
# made if missing). Servers run on CPU 0, their load generators on CPU 1; server CPU time comes
# from /proc/PID/stat (utime + stime) around each run. Builds everything it runs, and exits 1
# if any contender produced no figure (a benchmark that cannot fail is no benchmark).
# RT_BENCH_ONLY="echo read" runs only those groups (read, echo, hyper, joinset, copy).
# Echo's raw row is the ceiling: the core's echo_server example on the driver alone (no runtime);
# raw-wait is it with IORING_ENTER_EXT_ARG min_wait_usec (RT_BENCH_MIN_WAIT_US, default 50;
# Linux 6.12+); RT_BENCH_ECHO="raw tokio" picks the echo contenders.
# Besides the medians it prints min/median/max of the CPU figures and of the copy times.
set -uo pipefail
case "${1:-}" in
  -h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  -*) echo "run.sh: unknown option $1 (FILE SECONDS ROUNDS are positional; see --help)" >&2; exit 2 ;;
esac
cd "$(dirname "$0")/../.."
file=${1:-.bench-data/big-1024MiB.bin}
secs=${2:-5}
rounds=${3:-3}
only=" ${RT_BENCH_ONLY:-read echo hyper joinset copy} "
want() { [[ $only == *" $1 "* ]]; }
if { want read || want copy; } && [ ! -f "$file" ]; then
  mkdir -p "$(dirname "$file")"
  echo "making $file (1 GiB)"
  head -c 1073741824 /dev/urandom > "$file" && sync "$file" || exit 1
fi
cargo build --release -q -p boros --example randread --example echo_client --example echo_server || exit 1
cargo build --release -q -p boros-rt --example bench_read --example echo || exit 1
cargo build --release -q -p rt-bench --bins || exit 1
t=target/release
tck=$(getconf CLK_TCK)
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
declare -A res
missing=()
add() { res[$1]="${res[$1]:-} $2"; }
fail() { echo "!! $1 did not run: $2" >&2; missing+=("$1"); }
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {if (NR) print a[int((NR+1)/2)]}'; }
ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null; }
echo "== $(date -u +%FT%TZ), $(uname -r), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg) (a shared machine: ratios, not absolutes)"
if want read || want copy; then cat "$file" > /dev/null; fi

if want read; then
echo "== random 4 KiB reads, 64 in flight, one thread (reads/s)"
for round in $(seq 1 "$rounds"); do
  for c in raw:examples/randread boros-rt:examples/bench_read compio:compio_read monoio:monoio_read tokio-fs:tokio_read; do
    name=${c%%:*}; bin=$t/${c#*:}
    # The process's CPU time (user + system, its io-wq and blocking-pool threads included).
    cpu=$( { TIMEFORMAT='%U %S'; time "$bin" --file "$file" --qd 64 --seconds "$secs" > "$tmp" 2>&1; } 2>&1 | awk '{print $1 + $2}')
    out=$(cat "$tmp")
    v=$(grep -o '"ops_per_sec":[0-9]*' <<<"$out" | cut -d: -f2)
    ops=$(grep -o '"ops":[0-9]*' <<<"$out" | cut -d: -f2)
    if [ -n "$v" ] && [ "${ops:-0}" -gt 0 ]; then
      us=$(awk -v c="$cpu" -v n="$ops" 'BEGIN {printf "%.2f", c * 1e6 / n}')
      add "read/$name" "$v"; add "read-cpu/$name" "$us"
      echo "round $round  $name  $v reads/s  CPU ${us} us/read"
    else fail "read/$name" "$out"; fi
  done
done

fi

# serve NAME PORT CLIENT-COMMAND... : starts the server NAME on CPU 0, runs the client on CPU 1,
# prints the client's line and "server_cpu_s=X".
serve() {
  local name=$1 port=$2; shift 2
  local bin
  case $name in
    raw) bin="$t/examples/echo_server --addr 127.0.0.1:$port $raw_bufs" ;;
    raw-wait) bin="$t/examples/echo_server --addr 127.0.0.1:$port $raw_bufs --min-wait-us $min_wait_us --wait-nr 32" ;;
    boros-rt) bin="$t/examples/echo 127.0.0.1:$port" ;;
    tokio) bin="$t/tokio_echo 127.0.0.1:$port" ;;
    monoio) bin="$t/monoio_echo 127.0.0.1:$port" ;;
    compio) bin="$t/compio_echo 127.0.0.1:$port" ;;
    hyper-boros-rt) bin="$t/hyper_boros 127.0.0.1:$port" ;;
    hyper-tokio) bin="$t/hyper_tokio 127.0.0.1:$port" ;;
  esac
  taskset -c 0 $bin 2>/dev/null &
  local pid=$! up=
  for _ in $(seq 1 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then up=1; break; fi
    sleep 0.05
  done
  if [ -z "$up" ]; then kill $pid 2>/dev/null; wait $pid 2>/dev/null; echo "server did not start"; return; fi
  local before; before=$(ticks $pid)
  local out; out=$(taskset -c 1 "$@" 2>&1 | tr '\n' ' ')
  local after; after=$(ticks $pid)
  kill $pid 2>/dev/null; wait $pid 2>/dev/null
  echo "$out server_cpu_s=$(awk -v a="$after" -v b="$before" -v t="$tck" 'BEGIN {print (a - b) / t}')"
}

port=7470
# The echo contenders; raw-wait (the raw server waiting up to RT_BENCH_MIN_WAIT_US for 32
# completions per enter) runs where the kernel has IORING_FEAT_MIN_TIMEOUT (Linux 6.12+).
min_wait_us=${RT_BENCH_MIN_WAIT_US:-50}
# 256 x 1 KiB provided buffers: the few pages the kernel cycles through stay in cache (as
# boros-rt's per-connection rings, recv.rs); the example's default 1,024 x 4 KiB cost more.
raw_bufs="--bufs 256 --buf-size 1024"
echo_servers=${RT_BENCH_ECHO:-raw raw-wait boros-rt tokio monoio compio}
kv=$(uname -r | sed 's/^\([0-9]*\)\.\([0-9]*\).*/\1 \2/')
if [ "${kv% *}" -lt 6 ] || { [ "${kv% *}" -eq 6 ] && [ "${kv#* }" -lt 12 ]; }; then
  echo_servers=${echo_servers/raw-wait/}
fi
if want echo; then
echo "== echo, 64 connections x 64 B, closed loop (server on CPU 0, client on CPU 1)"
for round in $(seq 1 "$rounds"); do
  for s in $echo_servers; do
    port=$((port + 1))
    out=$(serve $s $port $t/examples/echo_client --addr 127.0.0.1:$port --conns 64 --size 64 --seconds "$secs")
    reqs=$(grep -o '[0-9]* requests' <<<"$out" | cut -d' ' -f1)
    rps=$(grep -o '[0-9.]* req/s' <<<"$out" | cut -d' ' -f1)
    cpu=$(grep -o 'server_cpu_s=[0-9.]*' <<<"$out" | cut -d= -f2)
    if [ -n "$rps" ] && [ "${reqs:-0}" -gt 0 ]; then
      us=$(awk -v c="$cpu" -v r="$reqs" 'BEGIN {printf "%.2f", c * 1e6 / r}')
      add "echo/$s" "$rps"; add "echo-cpu/$s" "$us"
      echo "round $round  $s  $rps req/s  server CPU ${us} us/round trip  $(grep -o 'p50 [0-9]* us, p99 [0-9]* us' <<<"$out")"
    else fail "echo/$s" "$out"; fi
  done
done

fi

if want hyper; then
echo "== hyper hello-world, HTTP/1.1 keep-alive, 64 connections (server on CPU 0, client on CPU 1)"
for round in $(seq 1 "$rounds"); do
  for s in hyper-boros-rt hyper-tokio; do
    port=$((port + 1))
    out=$(serve $s $port $t/http_load --addr 127.0.0.1:$port --conns 64 --seconds "$secs")
    reqs=$(grep -o '[0-9]* responses' <<<"$out" | cut -d' ' -f1)
    rps=$(grep -o '[0-9.]* req/s' <<<"$out" | cut -d' ' -f1)
    cpu=$(grep -o 'server_cpu_s=[0-9.]*' <<<"$out" | cut -d= -f2)
    if [ -n "$rps" ] && [ "${reqs:-0}" -gt 0 ] && grep -q 'errors 0' <<<"$out"; then
      us=$(awk -v c="$cpu" -v r="$reqs" 'BEGIN {printf "%.2f", c * 1e6 / r}')
      add "http/$s" "$rps"; add "http-cpu/$s" "$us"
      echo "round $round  $s  $rps req/s  server CPU ${us} us/request"
    else fail "http/$s" "$out"; fi
  done
done

fi

if want joinset; then
echo "== JoinSet: spawn 100,000 tasks, collect them with join_next (ms; a process each, alternating)"
for round in $(seq 1 "$rounds"); do
  for c in boros-rt tokio; do
    out=$($t/joinset 100000 $c 2>&1)
    v=$(grep -o '"[a-z_]*_ms":[0-9.]*' <<<"$out" | cut -d: -f2)
    if [ -n "$v" ]; then add joinset/$c "$v"; echo "round $round  $c $v ms"; else fail joinset/$c "$out"; fi
  done
done

fi

if want copy; then
echo "== fs::copy of $file vs std::fs::copy (s; alternating who goes first; each timed copy after an untimed one, see copy_bench.rs)"
out=$($t/copy_bench "$file" "$(dirname "$file")" "$rounds" 2>&1)
echo "$out"
for k in boros_rt_s std_s boros_rt_cpu_s std_cpu_s; do
  v=$(grep -o "\"$k\":[0-9.]*" <<<"$out" | cut -d: -f2 | tr '\n' ' ')
  if [ -n "$v" ]; then for x in $v; do add "copy/$k" "$x"; done; else fail "copy/$k" "$out"; fi
done
# Per round, std's time / boros-rt's, by who went first (page-cache and scheduler state favour
# neither by design; this shows whether the order did).
for first in boros-rt std; do
  for x in $(grep "\"first\":\"$first\"" <<<"$out" | sed 's/.*"boros_rt_s":\([0-9.]*\),"std_s":\([0-9.]*\).*/\2 \1/' | awk '$2 > 0 {printf "%.3f\n", $1 / $2}'); do
    add "copy-ratio/$first" "$x"
  done
done

fi

m() { median <<<"${res[$1]:-}"; }
# min/median/max of a series, for a reader to judge the spread.
spread() { local v; v=$(tr ' ' '\n' <<<"${res[$1]:-}" | grep -v '^$' | sort -g); [ -n "$v" ] || { echo "n/a"; return; }; echo "$(head -1 <<<"$v")/$(median <<<"$v")/$(tail -1 <<<"$v")"; }
ratio() { awk -v a="$(m "$1")" -v b="$(m "$2")" 'BEGIN {if (a && b) printf "%.2fx", a / b; else print "n/a"}'; }
echo
echo "== medians of $rounds"
want read && { echo "random reads/s: raw $(m read/raw), boros-rt $(m read/boros-rt), compio $(m read/compio), monoio $(m read/monoio), tokio::fs $(m read/tokio-fs)"
echo "  boros-rt / raw $(ratio read/boros-rt read/raw), / compio $(ratio read/boros-rt read/compio), / monoio $(ratio read/boros-rt read/monoio), / tokio::fs $(ratio read/boros-rt read/tokio-fs)"
echo "random reads CPU us/read: raw $(m read-cpu/raw), boros-rt $(m read-cpu/boros-rt), compio $(m read-cpu/compio), monoio $(m read-cpu/monoio), tokio::fs $(m read-cpu/tokio-fs)"
echo "  min/median/max: raw $(spread read-cpu/raw), boros-rt $(spread read-cpu/boros-rt), compio $(spread read-cpu/compio), monoio $(spread read-cpu/monoio), tokio::fs $(spread read-cpu/tokio-fs)"
echo "  raw / boros-rt $(ratio read-cpu/raw read-cpu/boros-rt), compio / boros-rt $(ratio read-cpu/compio read-cpu/boros-rt), monoio / boros-rt $(ratio read-cpu/monoio read-cpu/boros-rt), tokio::fs / boros-rt $(ratio read-cpu/tokio-fs read-cpu/boros-rt)"; }
want echo && { echo "echo req/s: raw $(m echo/raw), raw-wait $(m echo/raw-wait), boros-rt $(m echo/boros-rt), tokio $(m echo/tokio), monoio $(m echo/monoio), compio $(m echo/compio)"
echo "  boros-rt / tokio $(ratio echo/boros-rt echo/tokio), / monoio $(ratio echo/boros-rt echo/monoio), / compio $(ratio echo/boros-rt echo/compio)"
echo "echo server CPU us/round trip: raw $(m echo-cpu/raw), raw-wait $(m echo-cpu/raw-wait), boros-rt $(m echo-cpu/boros-rt), tokio $(m echo-cpu/tokio), monoio $(m echo-cpu/monoio), compio $(m echo-cpu/compio)"
echo "  tokio / boros-rt $(ratio echo-cpu/tokio echo-cpu/boros-rt), monoio / boros-rt $(ratio echo-cpu/monoio echo-cpu/boros-rt), compio / boros-rt $(ratio echo-cpu/compio echo-cpu/boros-rt)"
echo "  tokio / raw $(ratio echo-cpu/tokio echo-cpu/raw), tokio / raw-wait $(ratio echo-cpu/tokio echo-cpu/raw-wait), raw / boros-rt $(ratio echo-cpu/raw echo-cpu/boros-rt)"
echo "  min/median/max: raw $(spread echo-cpu/raw), raw-wait $(spread echo-cpu/raw-wait), boros-rt $(spread echo-cpu/boros-rt), tokio $(spread echo-cpu/tokio), monoio $(spread echo-cpu/monoio), compio $(spread echo-cpu/compio)"; }
want hyper && echo "hyper req/s: boros-rt $(m http/hyper-boros-rt), tokio $(m http/hyper-tokio) (boros-rt / tokio $(ratio http/hyper-boros-rt http/hyper-tokio)); server CPU us/request: boros-rt $(m http-cpu/hyper-boros-rt), tokio $(m http-cpu/hyper-tokio)"
want joinset && echo "JoinSet 100,000 tasks ms: boros-rt $(m joinset/boros-rt), tokio $(m joinset/tokio) (boros-rt / tokio $(ratio joinset/boros-rt joinset/tokio))"
want copy && { echo "fs::copy s, min/median/max of $rounds: boros-rt $(spread copy/boros_rt_s), std $(spread copy/std_s) (std time / boros-rt time, medians: $(ratio copy/std_s copy/boros_rt_s))"
echo "  CPU s per copy (all threads), min/median/max: boros-rt $(spread copy/boros_rt_cpu_s), std $(spread copy/std_cpu_s) (std / boros-rt, medians: $(ratio copy/std_cpu_s copy/boros_rt_cpu_s))"
echo "  std time / boros-rt time per round, boros-rt first: $(spread copy-ratio/boros-rt); std first: $(spread copy-ratio/std)"; }
if [ ${#missing[@]} -gt 0 ]; then
  echo "!! contenders that did not run: ${missing[*]}" >&2
  exit 1
fi
