#!/usr/bin/env bash
# Runs one benchmark command on two versions of LRS side by side, alternating (old, new, old,
# new …) so that whatever else the machine does falls on both: the way to tell whether a change
# made something slower on a machine that is not quiet.
#
#   bench/compare.sh REV [ROUNDS] -- node bench/import.mjs --records 100000 --reimport
#
# REV (a commit, branch or tag) is checked out in a git worktree under bench/out/compare-REV,
# given this checkout's node_modules (copied: the dependencies must be the same) and built with
# `npx tsc -b`; this checkout is built too. Each run's stdout goes to
# bench/out/compare/<old|new>-<round>.md, with the load average before and after in
# bench/out/compare/log. ROUNDS defaults to 2.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
[ $# -ge 3 ] || { sed -n 2,13p "$0"; exit 2; }
rev=$1; shift
rounds=2
if [ "$1" != "--" ]; then rounds=$1; shift; fi
[ "$1" = "--" ] || { echo "compare.sh: expected -- before the command" >&2; exit 2; }
shift
old="$root/bench/out/compare-$(echo "$rev" | tr -c 'A-Za-z0-9._\n-' _)"
out="$root/bench/out/compare"
mkdir -p "$out"
if [ ! -d "$old" ]; then
  git -C "$root" worktree add --detach "$old" "$rev" >/dev/null
  cp -a "$root/node_modules" "$old/"
  for p in "$root"/packages/*/; do
    [ -d "$p/node_modules" ] && cp -a "$p/node_modules" "$old/packages/$(basename "$p")/"
  done
fi
(cd "$old" && npx tsc -b)
(cd "$root" && npx tsc -b)
load() { cut -d' ' -f1-3 /proc/loadavg; }
for i in $(seq 1 "$rounds"); do
  for side in old new; do
    dir=$root; [ "$side" = old ] && dir=$old
    echo "$(date +%T) $side-$i start, load $(load)" | tee -a "$out/log"
    (cd "$dir" && "$@") >"$out/$side-$i.md" 2>"$out/$side-$i.err" ||
      { echo "$side-$i failed: see $out/$side-$i.err" >&2; exit 1; }
    echo "$(date +%T) $side-$i done, load $(load)" | tee -a "$out/log"
  done
done
echo "results: $out/{old,new}-*.md (old = $rev, new = this checkout)"
