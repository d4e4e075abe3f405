#!/bin/bash
# One busy connection, timed in the kernel (docs/net.md, "One connection: the wake-up, timed",
# issue 21 tenth round). Starts bench/net/server.mjs of TREE on core 1, drives it with echo_client
# on core 0 for SECS seconds, and runs a bpftrace script on the server for 2 s of that pass.
#
#   bench/extra/one-conn/run.sh TREE NODE SERVER SIZE SECS SCRIPT
#     SERVER: echo-node | echo-boros-ll | echo-boros-net    SCRIPT: path.bt | stages
#   e.g. for t in /work/main .; do bench/extra/one-conn/run.sh $t node echo-boros-ll 16384 3 bench/extra/one-conn/critical.bt; done
#
# "stages" generates a script with uprobes on the addon's on_poll / napi_make_callback and node's
# OnUvRead / CallJSOnreadMethod (symbols of TREE's .node and of NODE). Needs root and bpftrace;
# prints the client's line, then each histogram's median (µs).
set -e
TREE=$(cd "$1" && pwd); NODE=$2; KIND=$3; SIZE=$4; SECS=$5; SCRIPT=$6
HERE=$(cd "$(dirname "$0")" && pwd)
BT=$(mktemp --suffix .bt); OUT=$(mktemp); LOG=$(mktemp); FIFO=$(mktemp -u); mkfifo "$FIFO"
if [ "$SCRIPT" = stages ]; then
  ADDON="$TREE/boros.linux-x64-gnu.node"
  ONPOLL=$(nm "$ADDON" | awk '/runtime7on_poll/ {print $3; exit}')
  NODEBIN=$(readlink -f "$(command -v "$NODE")")
  sed -e "s|@ADDON@|$ADDON|g" -e "s|@ONPOLL@|$ONPOLL|g" -e "s|@NODE@|$NODEBIN|g" "$HERE/stages.bt.in" > "$BT"
else
  cp "$SCRIPT" "$BT"
fi
taskset -c 1 "$NODE" "$TREE/bench/net/server.mjs" "{\"server\":\"$KIND\",\"port\":0,\"workers\":1}" > "$LOG" 2>&1 < "$FIFO" &
SPID=$!
exec 3>"$FIFO"
trap 'exec 3>&-; kill $SPID 2>/dev/null; rm -f "$BT" "$OUT" "$LOG" "$FIFO"' EXIT
for _ in $(seq 100); do grep -q LISTENING "$LOG" && break; sleep 0.1; done
PORT=$(awk '/LISTENING/ {print $2}' "$LOG")
CLIENT="$TREE/target/release/examples/echo_client"
taskset -c 0 "$CLIENT" --addr 127.0.0.1:$PORT --conns 1 --size "$SIZE" --seconds 1 > /dev/null
bpftrace "$BT" $SPID > "$OUT" 2>&1 &
BPID=$!
sleep 0.5
taskset -c 0 "$CLIENT" --addr 127.0.0.1:$PORT --conns 1 --size "$SIZE" --seconds "$SECS"
wait $BPID || true
python3 "$HERE/medians.py" "$OUT"
