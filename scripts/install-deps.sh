#!/usr/bin/env bash
# Install everything ktstr needs on Debian 12 (run as root).
set -euo pipefail
pkgs=(
	build-essential make gcc pkg-config git xz-utils cpio bc flex bison
	libelf-dev libssl-dev dwarves                  # kernel build, BTF (pahole)
	clang llvm clang-16 llvm-16                    # tools/sched_ext (scx_flatcg needs clang >= 15)
	libclang-rt-14-dev                             # libFuzzer for clang (= clang-14): make fuzz, make check
	libjansson-dev libbpf-dev libzstd-dev liblz4-dev zlib1g-dev
	qemu-system-x86 busybox-static                 # VM engine, shell mode
	linux-source-6.12                              # the default test kernel source
	curl                                           # kernel downloads by version
	python3 tmux bc binutils zstd                  # tests and benchmarks
	python3-junitparser                            # --junit output checked by a real consumer
	chromium                                       # ktstr report: the headless-browser test
)
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
	echo "install-deps: all ${#pkgs[@]} packages present"
	exit 0
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
