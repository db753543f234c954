#!/usr/bin/env bash
# The host monitor on healthy runs: eevdf_steady and simple_steady (2 vCPUs,
# examples/ktstr-examples.c) pass, and each sidecar's `monitor` object has
# verdict PASS, samples about every 100 ms, valid samples on every vCPU whose
# rq clock advances, no threshold violated, no stuck CPU, and the reader's
# KASLR view (2 MiB-aligned slides; test_kaslr.sh checks them against the
# guest's own).
# The runnable wait is read on every vCPU and stays far below half the
# watchdog timeout under scx_simple (none under EEVDF).
# KTSTR_MONITOR=0 leaves the object out.
set -eu
: "${KTSTR_BIN:?}"
build=$(dirname "$KTSTR_BIN")
suite=$build/examples/ktstr-examples
[ -x "$suite" ] || { echo "missing $suite (run make examples)" >&2; exit 1; }
tmp=$(mktemp -d /tmp/ktstr-vm-monitor.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
for t in eevdf_steady simple_steady; do
	KTSTR_SIDECAR_DIR=$tmp/$t "$suite" --exact ktstr/$t >"$tmp/$t.out" 2>&1 || {
		cat "$tmp/$t.out"; echo "$t failed" >&2; exit 1; }
	grep -q "^PASS ktstr/$t" "$tmp/$t.out"
	python3 - "$tmp/$t" "$t" <<'PY'
import glob, json, statistics, sys
d, name = sys.argv[1], sys.argv[2]
m = json.load(open(glob.glob(d + "/*.ktstr.json")[0]))["monitor"]
def fail(why):
    sys.exit(f"{name}: monitor: {why}: {json.dumps({k: v for k, v in m.items() if k != 'samples'})}")
if m["verdict"] != "PASS" or m["verdict_line"] != "monitor OK":
    fail("not a pass")
s = m["summary"]
if s["stuck_count"] != 0 or s["max_local_dsq_depth"] > m["limits"]["max_local_dsq_depth"]:
    fail("stuck CPU or deep DSQ")
if m["num_cpus"] != 2 or m["kaslr_phys_slide"] % (2 << 20) or m["kaslr_virt_slide"] % (2 << 20):
    fail("CPU count or slides")
if not m["page_offset"].startswith("0xff"):
    fail("page_offset")
valid = [x for x in m["samples"] if x["valid"]]
if len(valid) < 15 or s["valid_samples"] != len(valid):
    fail(f"only {len(valid)} valid samples")
for c in range(2):
    clocks = [x["cpus"][c][3] for x in valid]
    if len(set(clocks)) < len(clocks) // 2 or max(clocks) <= min(clocks):
        fail(f"cpu{c}'s rq clock does not advance")
    if max(x["cpus"][c][0] for x in valid) < 1:
        fail(f"cpu{c} never ran anything")
gaps = [b["t_ms"] - a["t_ms"] for a, b in zip(m["samples"], m["samples"][1:])]
if not 80 <= statistics.median(gaps) <= 150:
    fail(f"median sample gap {statistics.median(gaps)} ms")
if not 0 < m["host_cpu_fraction"] < 0.05 or m["vcpu_times"] != 2:
    fail("host CPU fraction or vCPU threads not found")
print(f"{name}: {len(valid)} valid samples, max imbalance {s['max_imbalance_ratio']:.1f}, "
      f"monitor CPU {100 * m['host_cpu_fraction']:.3f} % of a core")
PY
done
# the scheduler's state is seen: scx_simple enabled (1) during the run
python3 - "$tmp/simple_steady" <<'PY'
import glob, json, sys
m = json.load(open(glob.glob(sys.argv[1] + "/*.ktstr.json")[0]))["monitor"]
if not any(x.get("scx_state") == 1 for x in m["samples"]):
    sys.exit("simple_steady: scx_ops_enable_state never ENABLED in the samples")
PY
# the runnable wait is read on every vCPU: scx_simple's tasks wait far below
# half its watchdog timeout (30 s: no .watchdog_timeout_s under TCG); under
# EEVDF no sched_ext task is runnable and no timeout is set
python3 - "$tmp/simple_steady" "$tmp/eevdf_steady" <<'PY'
import glob, json, sys
for d, scx in ((sys.argv[1], True), (sys.argv[2], False)):
    m = json.load(open(glob.glob(d + "/*.ktstr.json")[0]))["monitor"]
    s = m["summary"]
    valid = [x for x in m["samples"] if x["valid"]]
    known = [x["cpus"][c][5] for x in valid for c in range(2) if x["cpus"][c][5] is not None]
    if len(known) < 0.9 * 2 * len(valid):
        sys.exit(f"{d}: runnable wait unknown in {2 * len(valid) - len(known)} of {2 * len(valid)} readings")
    if scx:
        if s["watchdog_timeout_ms"] != 30000:
            sys.exit(f"simple_steady: watchdog_timeout_ms {s['watchdog_timeout_ms']}, want 30000")
        w = s["max_runnable_wait"]
        if w is None or not 0 < w["wait_ms"] < w["limit_ms"] or max(known) != w["wait_ms"]:
            sys.exit(f"simple_steady: max_runnable_wait {w}")
        print(f"simple_steady: longest runnable wait {w['wait_ms']} ms ({w['comm']}[{w['pid']}] on cpu{w['cpu']}), "
              f"limit {w['limit_ms']} ms; {len(known)} readings")
    elif s["watchdog_timeout_ms"] is not None or max(known) != 0:
        sys.exit(f"eevdf_steady: watchdog {s['watchdog_timeout_ms']}, runnable wait {max(known)}")
PY
KTSTR_MONITOR=0 KTSTR_SIDECAR_DIR=$tmp/off "$suite" --exact ktstr/eevdf_steady >"$tmp/off.out" 2>&1
python3 -c "
import glob, json, sys
sys.exit(json.load(open(glob.glob('$tmp/off/*.ktstr.json')[0]))['monitor'] is not None)"
echo "monitor: healthy runs pass with samples on every vCPU"
