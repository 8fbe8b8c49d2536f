#!/usr/bin/env bash
# What threadscope costs as the user pays it: the CPU of the whole process
# (every thread of it), beside top watching the same threads, in one run.
#
#   benches/whole-process.sh            # 10,000 sleeping threads, 30 s windows
#   THREADS=2000 DURATION=60 benches/whole-process.sh
#
# Needs tmux (the TUIs run in a detached 160x50 terminal) and top (procps).
# Prints one line per measurement; docs/benchmarks.md has the figures.
set -euo pipefail
cd "$(dirname "$0")/.."

THREADS=${THREADS:-10000}
DURATION=${DURATION:-30}
COUNT=${COUNT:-6}
WARMUP=${WARMUP:-5}
TICK=$(getconf CLK_TCK)
BIN=target/release

for tool in tmux top; do
    command -v "$tool" >/dev/null || { echo "whole-process.sh needs $tool" >&2; exit 1; }
done
cargo build --release --quiet --bin threadscope --example sleepers

work=$(mktemp -d)
session="ts-bench-$$"
cleanup() {
    tmux kill-session -t "$session" 2>/dev/null || true
    [ -n "${target:-}" ] && kill "$target" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

# CPU time of a process so far, in ms (utime + stime of all its threads).
cpu_ms() {
    local fields
    read -r -a fields < <(sed 's/^.*) //' "/proc/$1/stat")
    # After the comm: state is field 3, so utime (14) and stime (15) are 11 and 12 here.
    echo $(( (fields[11] + fields[12]) * 1000 / TICK ))
}

# CPU time of threadscope's own threads in process $1 (the main thread and
# the ts-* ones), in ms: the tour's workload threads are not its cost.
own_cpu_ms() {
    local total=0 task comm fields
    for task in /proc/$1/task/*; do
        comm=$(cat "$task/comm" 2>/dev/null) || continue
        if [ "${task##*/}" = "$1" ] || [[ "$comm" == ts-* ]]; then
            read -r -a fields < <(sed 's/^.*) //' "$task/stat" 2>/dev/null) || continue
            total=$(( total + fields[11] + fields[12] ))
        fi
    done
    echo $(( total * 1000 / TICK ))
}

# The pid of the program running in tmux window $1.
pane_pid() { tmux list-panes -t "$session:$1" -F '#{pane_pid}'; }

"$BIN/examples/sleepers" "$THREADS" > "$work/ready" &
target=$!
until grep -q ready "$work/ready" 2>/dev/null; do sleep 0.2; done
echo "target: pid $target with $(ls /proc/$target/task | wc -l) threads; windows of ${DURATION}s after ${WARMUP}s"

# attach (TUI, 1 s interval) and top -H -d 1, side by side, same window.
tmux new-session -d -s "$session" -x 160 -y 50 -n attach "exec $BIN/threadscope attach $target --interval 1s"
tmux new-window -d -t "$session" -n top "exec top -H -d 1 -p $target"
sleep "$WARMUP"
ts=$(pane_pid attach)
tp=$(pane_pid top)
a0=$(cpu_ms "$ts"); t0=$(cpu_ms "$tp")
sleep "$DURATION"
a1=$(cpu_ms "$ts"); t1=$(cpu_ms "$tp")
attach=$(( (a1 - a0) / DURATION )); top=$(( (t1 - t0) / DURATION ))
echo "attach TUI, 1 s interval: ${attach} ms CPU/s (whole process); top -H -d 1: ${top} ms CPU/s; top/threadscope = $(awk "BEGIN { printf \"%.1f\", $top / ($attach > 0 ? $attach : 1) }")x"
echo "attach RSS: $(awk '/VmRSS/ { print $2 " kB" }' /proc/$ts/status)"
# Both gone before the next measurement, which would share the target's
# /proc with them.
tmux kill-session -t "$session"

# snapshot --count and top -n, per refresh, the first one included.
per_refresh() { # command... → ms per refresh
    local start end
    start=$( { /usr/bin/time -f '%U %S' "$@" > /dev/null; } 2>&1 | tail -1 )
    awk -v c="$COUNT" '{ printf "%d", ($1 + $2) * 1000 / c }' <<< "$start"
}
snap=$(per_refresh "$BIN/threadscope" snapshot --pid "$target" --count "$COUNT" --interval 1s)
topn=$(per_refresh top -H -b -d 1 -n "$COUNT" -p "$target")
echo "snapshot --count $COUNT --interval 1s: ${snap} ms CPU per refresh; top -H -b -n $COUNT: ${topn} ms per refresh; top/threadscope = $(awk "BEGIN { printf \"%.1f\", $topn / ($snap > 0 ? $snap : 1) }")x"

# The tour, as a newcomer runs it, beside top watching it.
tmux new-session -d -s "$session" -x 160 -y 50 -n tour "exec $BIN/threadscope"
sleep "$WARMUP"
tour=$(pane_pid tour)
tmux new-window -d -t "$session" -n toptour "exec top -H -d 1 -p $tour"
sleep 1
tp=$(pane_pid toptour)
a0=$(own_cpu_ms "$tour"); t0=$(cpu_ms "$tp")
sleep "$DURATION"
a1=$(own_cpu_ms "$tour"); t1=$(cpu_ms "$tp")
echo "tour TUI, threadscope's own threads (not the workload's): $(( (a1 - a0) / DURATION )) ms CPU/s; top -H -d 1 on it: $(( (t1 - t0) / DURATION )) ms CPU/s"
