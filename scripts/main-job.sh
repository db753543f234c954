#!/usr/bin/env bash
# The main job on a fresh Debian 12 machine (as root): install dependencies,
# build ktstr, build and cache the sched_ext test kernel (with the kernel's
# tools/sched_ext schedulers), show the cache, and run the example suite
# against scx_simple, scx_qmap, scx_central, scx_flatcg and EEVDF in VMs.
set -euo pipefail
cd "$(dirname "$0")/.."
src=${KTSTR_KERNEL_SOURCE:-/usr/src/linux-source-6.12.tar.xz}

scripts/install-deps.sh
make -j"$(nproc)" all examples
build/ktstr kernel build --source "$src"
build/ktstr kernel list
build/ktstr test build/examples/ktstr-examples
