#!/usr/bin/env bash
# Build and run the libFuzzer targets (clang). Not part of `make check`.
#   tests/fuzz/run.sh [SECONDS_PER_TARGET]   (default 30)
set -eu
cd "$(dirname "$0")/../.."
secs=${1:-30}
out=build/fuzz
mkdir -p "$out"
flags="-std=gnu11 -D_GNU_SOURCE -Isrc -g -O1 -fsanitize=fuzzer,address,undefined"
common="src/util/sbuf.c src/util/misc.c src/util/log.c src/util/fs.c src/util/cleanup.c"
for t in shm com2 elfstrip; do
	case $t in
	shm) srcs="src/vm/shm.c" ;;
	com2) srcs="src/vm/com2.c src/proto/host.c src/proto/proto.c" ;;
	elfstrip) srcs="src/vm/elfstrip.c src/vm/cpio.c src/vm/xxh64.c" ;;
	esac
	clang $flags -o "$out/fuzz_$t" "tests/fuzz/fuzz_$t.c" $srcs $common -lz
	mkdir -p "$out/corpus_$t"
	if [ "$t" = elfstrip ] && [ ! -e "$out/corpus_$t/seed" ]; then
		printf 'int main(void){return 0;}\n' > "$out/seed.c"
		gcc -g -o "$out/corpus_$t/seed" "$out/seed.c"
	fi
	echo "fuzz_$t: ${secs}s"
	"$out/fuzz_$t" -max_total_time="$secs" -max_len=$((1 << 17)) -rss_limit_mb=1024 \
		"$out/corpus_$t" 2>&1 | tail -n 3
done
