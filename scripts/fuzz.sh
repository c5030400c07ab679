#!/usr/bin/env bash
# Coverage-guided fuzzing of one target with AFL++ (afl.rs, stable toolchain).
#
#   scripts/fuzz.sh TARGET [DURATION]     TARGET: request | stored_value | matching
#                                         DURATION: seconds, or 30s / 10m / 2h (default 10m)
#   scripts/fuzz.sh --keep TARGET         only keep the inputs of the last run (after an
#                                         interrupted keep step)
#
# Builds fuzz/afl (its own workspace: the main build never needs AFL), fuzzes from the kept
# corpus fuzz/corpus/TARGET into fuzz/out/TARGET, prints run time, execs/s, paths found and
# crashes, then keeps every crash and a minimized set of the new queue entries in
# fuzz/corpus/TARGET, where `cargo test -p clearinghouse-fuzz` replays them.
# Exit status: 0 clean, 1 the fuzzer found crashes or hangs (inputs kept), 2 usage/setup.
#
# Needs: cargo-afl (`cargo install cargo-afl --locked`; it builds AFL++ on first use).
# Environment: FUZZ_MEMORY_MB (AFL -m, default 1024), FUZZ_TIMEOUT_MS (AFL -t, default
# 2000), FUZZ_KEEP_QUEUE=0 to keep only crashes.
set -euo pipefail

usage() {
  sed -n '2,6p' "$0" >&2
  exit 2
}
[[ $# -ge 1 && $# -le 2 ]] || usage
keep_only=0
if [[ "$1" == --keep ]]; then
  keep_only=1
  shift
  [[ $# -eq 1 ]] || usage
fi
target=$1
duration=${2:-10m}
case "$target" in request | stored_value | matching) ;; *) usage ;; esac
case "$duration" in
  *h) seconds=$((${duration%h} * 3600)) ;;
  *m) seconds=$((${duration%m} * 60)) ;;
  *s) seconds=${duration%s} ;;
  *[!0-9]* | '') usage ;;
  *) seconds=$duration ;;
esac

cd "$(dirname "$0")/.."
root=$PWD
if ! cargo afl --version >/dev/null 2>&1; then
  echo "cargo-afl is missing: cargo install cargo-afl --locked" >&2
  exit 2
fi

echo "== building fuzz/afl ($target)"
(cd fuzz/afl && cargo afl build --release --bin "$target")
binary=$root/fuzz/afl/target/release/$target
corpus=$root/fuzz/corpus/$target
out=$root/fuzz/out/$target
mkdir -p "$corpus"
if ((keep_only)); then
  [[ -d "$out/default" ]] || { echo "no run in $out to keep inputs from" >&2; exit 2; }
else
  rm -rf "$out"
  mkdir -p "$out"
  echo "== fuzzing $target for ${seconds}s from $(find "$corpus" -type f | wc -l) kept inputs"
  # No UI (logs instead), no CPU pinning on a shared machine, core dumps not required.
  export AFL_NO_UI=1 AFL_NO_AFFINITY=1 AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1
  cargo afl fuzz -V "$seconds" -m "${FUZZ_MEMORY_MB:-1024}" -t "${FUZZ_TIMEOUT_MS:-2000}" \
    -i "$corpus" -o "$out" -- "$binary" >"$out/afl.log" 2>&1 || {
    echo "afl-fuzz failed; see $out/afl.log" >&2
    tail -n 30 "$out/afl.log" >&2
    exit 2
  }
fi

stats=$out/default/fuzzer_stats
stat() { awk -F' *: *' -v k="$1" '$1 == k { print $2 }' "$stats"; }
printf '== %s: ran %ss, %s execs, %s execs/s (last minute %s), corpus %s, crashes %s, hangs %s, stability %s\n' \
  "$target" "$(stat run_time)" "$(stat execs_done)" "$(stat execs_per_sec)" \
  "$(stat execs_ps_last_min)" "$(stat corpus_count)" "$(stat saved_crashes)" \
  "$(stat saved_hangs)" "$(stat stability)"

sha() { sha1sum "$1" | cut -c1-16; }
found=0
for kind in crashes hangs; do
  for f in "$out/default/$kind"/id:*; do
    [[ -e "$f" ]] || continue
    name=${kind%es}
    name=${name%s}-$(sha "$f")
    cp "$f" "$corpus/$name"
    echo "kept $kind input: fuzz/corpus/$target/$name"
    found=1
  done
done

if [[ "${FUZZ_KEEP_QUEUE:-1}" == 1 ]]; then
  # afl-cmin.bash from the AFL++ build of afl.rs (its Python variant sees no coverage in
  # afl.rs's persistent-mode binaries).
  aflbin=$(dirname "$(find "${XDG_DATA_HOME:-$HOME/.local/share}/afl.rs" -path '*/afl/bin/afl-cmin.bash' | head -n 1)")
  min=$(mktemp -d)
  if [[ -x "$aflbin/afl-cmin.bash" ]] && AFL_PATH=$aflbin PATH=$aflbin:$PATH \
    "$aflbin/afl-cmin.bash" -m "${FUZZ_MEMORY_MB:-1024}" -t "${FUZZ_TIMEOUT_MS:-2000}" \
    -i "$out/default/queue" -o "$min/q" -- "$binary" 2>&1 | tail -n 20 >"$out/cmin.log"; then
    added=0
    known=$(for f in "$corpus"/*; do sha "$f"; done)
    for f in "$min"/q/*; do
      [[ -s "$f" ]] || continue
      h=$(sha "$f")
      if ! grep -qx "$h" <<<"$known"; then
        cp "$f" "$corpus/queue-$h"
        known+=$'\n'$h
        added=$((added + 1))
      fi
    done
    echo "kept $added new queue inputs (minimized) in fuzz/corpus/$target"
  else
    echo "afl-cmin failed (queue not kept); see $out/cmin.log" >&2
  fi
  rm -rf "$min"
fi

exit "$found"
