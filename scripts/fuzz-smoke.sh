#!/usr/bin/env bash
# CI's bounded fuzz run: builds the cargo-fuzz targets in fuzz/ and runs each on one core, starting
# from its committed seeds (fuzz/seeds/<target>) and the inputs of the crashes already found
# (fuzz/known-crashes/<target>, run again as regressions) in a scratch corpus, so nothing the run
# finds is left behind. See fuzz/README.md for the long runs.
#
# Each run is a fixed number of inputs from a fixed seed, so it is the same on every machine for the
# same code (about 40 s in all here); FUZZ_SECONDS (default 60) caps each target on a slow machine.
# A crash, a failed check or a timeout fails the script, with libFuzzer's report, the input's bytes
# and the command that reproduces it; a single input may take up to 30 s.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

seconds=${FUZZ_SECONDS:-60}
# cargo-fuzz passes nightly-only flags to rustc (-Zsanitizer, sanitizer coverage); RUSTC_BOOTSTRAP
# lets the machine's stable toolchain accept them. Acceptable for a test-only tool: nothing shipped
# is built this way.
export RUSTC_BOOTSTRAP=1
# No AddressSanitizer: every chatsync crate forbids unsafe code, and without it the targets run
# about twice as fast and build into half the disk. Debug assertions and overflow checks stay on.
cargo fuzz build --sanitizer none
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
for target in $(cargo fuzz list); do
  printf '\n\033[1m-- fuzz %s for %ss\033[0m\n' "$target" "$seconds"
  mkdir -p "$scratch/$target"
  touch "$scratch/$target.start"
  status=0
  # -jobs is not given: one process, one core. stderr holds libFuzzer's report; only its summary
  # lines are shown unless the run fails.
  known=()
  [ -d "fuzz/known-crashes/$target" ] && known=("fuzz/known-crashes/$target")
  # A fixed seed and a fixed count: the same code fuzzes the same inputs on every run, so a failure
  # here is reproducible, never a flake. model_load only replays its seeds and known crashes:
  # exploring it finds Automerge's out-of-memory documents within seconds (fuzz/README.md).
  case "$target" in
    message_decode) runs=2000000 ;;
    doc_session) runs=200000 ;;
    relay_frames) runs=60000 ;;
    hub_frames) runs=30000 ;;
    *) runs=0 ;;
  esac
  cargo fuzz run --sanitizer none "$target" "$scratch/$target" "fuzz/seeds/$target" "${known[@]}" -- \
    -seed=1 -runs="$runs" -max_total_time="$seconds" -timeout=30 -rss_limit_mb=2048 -print_final_stats=1 \
    >"$scratch/$target.log" 2>&1 || status=$?
  if [ "$status" != 0 ]; then
    cat "$scratch/$target.log" >&2
    # The inputs this run wrote (cargo-fuzz keeps them in fuzz/artifacts/<target>/).
    find "fuzz/artifacts/$target" -type f -newer "$scratch/$target.start" 2>/dev/null | while read -r input; do
      echo "input $input ($(stat -c %s "$input") bytes):" >&2
      od -A x -t x1z -v "$input" | head -n 64 >&2
    done
    echo "FAILED: fuzz target $target (exit $status); reproduce with:" >&2
    echo "  RUSTC_BOOTSTRAP=1 cargo fuzz run --sanitizer none $target fuzz/artifacts/$target/<input>" >&2
    exit 1
  fi
  grep -E '^(#[0-9]+.*DONE|stat::number_of_executed_units|stat::average_exec_per_sec|INFO: exiting)' \
    "$scratch/$target.log" || tail -n 3 "$scratch/$target.log"
done
