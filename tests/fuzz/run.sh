#!/usr/bin/env bash
# Run libFuzzer targets built by `make fuzz-build` (see the Makefile):
#   tests/fuzz/run.sh BUILD_DIR SECONDS_PER_TARGET TARGET...
# Each target starts from its seed corpus tests/fuzz/corpus/NAME (read only)
# plus what earlier runs found (BUILD_DIR/fuzz/corpus/NAME), runs niced on
# one core, and prints its execution count. A crash, leak, sanitizer report,
# timeout or out-of-memory fails the run; the input is kept under
# BUILD_DIR/fuzz/artifacts/ and printed.
set -u
cd "$(dirname "$0")/../.."
build=$1
secs=$2
shift 2
fail=0
for t in "$@"; do
	bin=$build/fuzz/fuzz_$t
	seeds=tests/fuzz/corpus/$t
	found=$build/fuzz/corpus/$t
	art=$build/fuzz/artifacts/$t
	log=$build/fuzz/$t.log
	if [ ! -x "$bin" ] || [ ! -d "$seeds" ]; then
		echo "fuzz_$t: missing $bin or $seeds" >&2
		fail=1
		continue
	fi
	mkdir -p "$found" "$art"
	# -timeout: one input taking longer is a hang; -rss_limit_mb: a memory blowup.
	nice -n 10 "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
		-max_len=65536 -print_final_stats=1 -artifact_prefix="$art/" \
		"$found" "$seeds" >"$log" 2>&1
	rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
	cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1)
	if [ $rc -ne 0 ]; then
		echo "fuzz_$t: FAILED (exit $rc) after ${execs:-?} executions; log: $log"
		grep -E 'ERROR|runtime error|SUMMARY|Test unit written' "$log" | head -n 10
		fail=1
	else
		echo "fuzz_$t: ok, ${execs:-?} executions in ${secs}s (${cov:-cov: ?}," \
			"seeds: $(ls "$seeds" | wc -l))"
	fi
done
exit $fail
