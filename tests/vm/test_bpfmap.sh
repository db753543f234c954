#!/usr/bin/env bash
# BPF maps from the host (tests/vm/vmtests.c, qmap_map_write* and
# qmap_snapshots*), against the kernel's scx_qmap:
#  - .bpf_map_write: the host sets qmap's .bss test_error_cnt to 1 through
#    guest memory; the scheduler observes it (its next enqueue calls
#    scx_bpf_error("test triggering error")) and exits: FAIL, with the
#    host's note of what it wrote and the scheduler's exit in the report
#  - a field the map does not have: FAIL naming the map's variables
#  - num_snapshots + temporal patterns over qmap's counters: PASS; a
#    pattern that cannot hold: FAIL naming the sample and its value, the
#    failure dump holding the last snapshot of qmap's per-CPU cpu_ctx_stor
#  - .snapshot_maps: scx_simple's per-CPU stats (no BTF) and .bss (BTF)
#    captured whole in the sidecar, per-CPU sums nondecreasing
set -eu
. "$(dirname "$0")/lib_shell.sh"
use_vmtests

run() {
	rc=0
	"$bin" --exact "ktstr/$1" >"$TMP/log" 2>&1 || rc=$?
}
show_fail() { cat "$TMP/log" >&2; fail "$*"; }

run qmap_map_write
[ $rc -eq 1 ] || show_fail "qmap_map_write: exit $rc, want 1"
grep -q "^FAIL ktstr/qmap_map_write (" "$TMP/log" || show_fail "qmap_map_write: no FAIL line"
grep -Eq "^  bpf_map_write: host wrote 1 to [a-z_]*\.bss field test_error_cnt \(4 bytes, was 0\)" \
	"$TMP/log" || show_fail "qmap_map_write: no note of the write"
grep -q "scx_bpf_error (test triggering error)" "$TMP/log" ||
	show_fail "qmap_map_write: the scheduler did not act on the host's write"

run qmap_map_write_nofield
[ $rc -eq 1 ] || show_fail "qmap_map_write_nofield: exit $rc, want 1"
grep -Eq "^  bpf_map_write to \.bss field no_such_field failed: BPF map [a-z_]*\.bss: no field 'no_such_field' in the map's value \(variables: .*test_error_cnt" \
	"$TMP/log" || show_fail "qmap_map_write_nofield: failure not explained"
if grep -q "test triggering error" "$TMP/log"; then show_fail "nofield: something was written"; fi

run qmap_snapshots
[ $rc -eq 0 ] || show_fail "qmap_snapshots: exit $rc, want 0"
grep -q "^PASS ktstr/qmap_snapshots (" "$TMP/log" || show_fail "qmap_snapshots: no PASS line"
sc=$(find "$KTSTR_TARGET_DIR/ktstr" -name 'qmap_snapshots-*.ktstr.json' | head -1)
[ -n "$sc" ] || show_fail "qmap_snapshots: no sidecar"
python3 - "$sc" <<'PY' || show_fail "qmap_snapshots: sidecar bpf_maps"
import json, sys
b = json.load(open(sys.argv[1]))["bpf_maps"]
assert b["periodic_target"] == 4 and b["periodic_fired"] == 4, b
f = b["fields"][0]
assert f["field"] == "nr_dispatched" and f["map_name"].endswith(".bss"), f
s = f["samples"]
assert [x["tag"] for x in s] == ["periodic_%03d" % i for i in range(4)], s
v = [x["value"] for x in s]
assert v == sorted(v) and v[-1] > 0, v
t = [x["elapsed_ms"] for x in s]
# boundaries at +780, +1260, +1740, +2220 ms (d = 3 s), each taken on a later tick
assert all(b0 <= x < b0 + 1000 for x, b0 in zip(t, [780, 1260, 1740, 2220])), t
PY

run qmap_snapshots_fail
[ $rc -eq 1 ] || show_fail "qmap_snapshots_fail: exit $rc, want 1"
grep -Eq "^  nr_enqueued \(converges_to\): no 3 consecutive samples within 0 \+- 0 by the last sample \(last value [1-9][0-9]* at sample periodic_002 \(\+1[0-9]{3}ms\)\)$" \
	"$TMP/log" || show_fail "qmap_snapshots_fail: temporal failure not reported"
dump=$(find "$KTSTR_TARGET_DIR/ktstr" -name 'qmap_snapshots_fail-*.failure-dump.json' | head -1)
[ -n "$dump" ] || show_fail "qmap_snapshots_fail: no failure dump"
python3 - "$dump" <<'PY' || show_fail "qmap_snapshots_fail: failure dump maps"
import json, sys
maps = json.load(open(sys.argv[1]))["maps"]
assert len(maps) == 1, maps
m = maps[0]
assert m["map"] == "cpu_ctx_stor" and m["name"] == "cpu_ctx_stor", m
assert m["map_type"] == "percpu_array" and m["value_type"] == "struct cpu_ctx", m
assert m["tag"].startswith("periodic_00") and "error" not in m, m
e = m["entries"]
assert [x["key"] for x in e] == [0], e
pc = e[0]["per_cpu"]
assert len(pc) == 2, pc
for v in pc:
    assert sorted(v) == ["avg_weight", "cpuperf_target", "dsp_cnt", "dsp_idx"], v
    assert all(isinstance(x, int) for x in v.values()), v
PY

# scx_simple's per-CPU stats (no BTF: u64 per CPU) and its .bss (BTF), captured whole
run simple_stats_snapshots
[ $rc -eq 0 ] || show_fail "simple_stats_snapshots: exit $rc, want 0"
sc=$(find "$KTSTR_TARGET_DIR/ktstr" -name 'simple_stats_snapshots-*.ktstr.json' | head -1)
[ -n "$sc" ] || show_fail "simple_stats_snapshots: no sidecar"
python3 - "$sc" <<'PY' || show_fail "simple_stats_snapshots: sidecar bpf_maps captures"
import json, sys
b = json.load(open(sys.argv[1]))["bpf_maps"]
assert b["snapshot_maps"] == ["stats", ".bss"], b["snapshot_maps"]
caps = b["captures"]
assert [c["tag"] for c in caps] == ["periodic_000", "periodic_001", "periodic_002"], caps
sums = []
for c in caps:
    st, bss = c["maps"]
    assert st["map"] == "stats" and st["map_type"] == "percpu_array", st
    assert "value_type" not in st and "error" not in st, st
    assert [x["key"] for x in st["entries"]] == [0, 1], st
    assert all(len(x["per_cpu"]) == 2 for x in st["entries"]), st
    sums.append([sum(x["per_cpu"]) for x in st["entries"]])
    assert isinstance(st["read_us"], int) and isinstance(bss["read_us"], int), c
    assert bss["map"] == ".bss" and bss["name"].endswith(".bss"), bss
    assert isinstance(bss["entries"][0]["value"]["vtime_now"], int), bss
for k in (0, 1):
    col = [s[k] for s in sums]
    assert col == sorted(col), (k, sums)
assert sum(sums[-1]) > 0, sums
for f in b["fields"]:
    assert f["map_name"] == "stats" and f["aggregate"] == "sum over 2 CPUs", f
    v = [x["value"] for x in f["samples"]]
    assert v == sorted(v), f
print("stats sums per capture (local, global):", sums, "read_us (stats, .bss):",
      [[m["read_us"] for m in c["maps"]] for c in caps])
PY
check_no_leftover_qemu
echo "bpf maps: host write observed by scx_qmap, missing field named, captures judged," \
	"whole maps captured (per-CPU, BTF) and in the failure dump"
