#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Write synthetic sidecars (schema version 1) for tests and benchmarks.

gen_sidecars.py DIR COUNT [--kernel V] [--commit C] [--seed N]
                [--slow NAME=FACTOR]... [--fail NAME]... [--repeat R]

COUNT tests named t0000.., each on one of a few schedulers and
topologies; --slow divides a test's iterations by FACTOR and multiplies
its gaps and wall time by it; --fail makes a test fail (scheduler_error
during the workload); --repeat writes R sidecars per test (as repeated
runs do). Values vary with --seed by a few percent, like real runs.
"""
import argparse
import json
import os
import random

SCHEDS = ["eevdf", "scx_simple", "scx_qmap", "scx_central"]
TOPOS = ["1n1l2c1t", "1n2l2c1t", "1n1l1c1t", "1n1l2c2t"]


def sidecar(name, i, rep, a, rng):
    sched = SCHEDS[i % len(SCHEDS)]
    topo = TOPOS[(i // len(SCHEDS)) % len(TOPOS)]
    slow = a.slow.get(name, 1.0)
    failed = name in a.fail
    jitter = lambda: 1.0 + rng.uniform(-0.02, 0.02)
    iters = int(12000 * jitter() / slow)
    stats = {
        "cgroups": [],
        "total_workers": 4,
        "total_cpus": 2,
        "total_migrations": int(20 * jitter()),
        "worst_spread": 3.0 * jitter(),
        "worst_gap_ms": int(60 * jitter() * slow),
        "worst_gap_cpu": 1,
        "worst_migration_ratio": 0.01,
        "worst_p99_wake_latency_us": 0.0,
        "worst_median_wake_latency_us": 0.0,
        "worst_wake_latency_cv": 0.0,
        "total_iterations": iters,
        "worst_mean_run_delay_us": 400.0 * jitter() * slow,
        "worst_run_delay_us": 4000.0 * jitter() * slow,
        "worst_page_locality": 0.0,
        "worst_cross_node_migration_ratio": 0.0,
        "worst_wake_latency_tail_ratio": 0.0,
        "worst_iterations_per_worker": iters / 4.0,
    }
    sc = {
        "schema_version": 1,
        "test_name": name,
        "topology": topo,
        "scheduler": sched,
        "scheduler_commit": None,
        "project_commit": a.commit,
        "payload": None,
        "metrics": [],
        "passed": not failed,
        "skipped": False,
        "inconclusive": False,
        "stats": stats,
        "monitor": None,
        "stimulus_events": None,
        "work_type": "CpuSpin",
        "active_flags": [],
        "verifier_stats": None,
        "kvm_stats": None,
        "sysctls": [],
        "kargs": [],
        "kernel_version": a.kernel,
        "kernel_commit": None,
        "timestamp": "2026-12-01T12:00:%02dZ" % (i % 60),
        "run_id": "20261201T120000Z-%d" % (i * a.repeat + rep),
        "host": {"arch": "x86_64", "cpu_model": "synthetic", "online_cpus": 2},
        "cleanup_duration_ms": int(50 * jitter()),
        "run_source": "local",
        "details": [],
        "duration_ms": int(4000 * jitter() * slow),
        "work_types": ["CpuSpin"],
        "scheduler_exit": None if sched == "eevdf" else
        {"kind": "normal", "reason": "unregistered from user space", "source": "scheduler log"},
        "failure": None,
        "failure_dump": None,
        "absent": {"kernel_commit": "synthetic sidecar"},
    }
    if failed:
        sc["failure"] = {"kind": "scheduler_error", "phase": "workload",
                         "message": "scx_bpf_error: synthetic"}
        sc["scheduler_exit"] = {"kind": "error", "reason": "scx_bpf_error",
                                "message": "synthetic", "source": "console"}
    return sc


def main():
    p = argparse.ArgumentParser()
    p.add_argument("dir")
    p.add_argument("count", type=int)
    p.add_argument("--kernel", default="6.12.117")
    p.add_argument("--commit", default="abc1234")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--slow", action="append", default=[])
    p.add_argument("--fail", action="append", default=[])
    p.add_argument("--repeat", type=int, default=1)
    a = p.parse_args()
    a.slow = {k: float(v) for k, v in (s.split("=") for s in a.slow)}
    rng = random.Random(a.seed)
    os.makedirs(a.dir, exist_ok=True)
    for i in range(a.count):
        name = "t%04d" % i
        for rep in range(a.repeat):
            path = os.path.join(a.dir, "%s-%016x.ktstr.json" % (name, i * 1000 + rep))
            with open(path, "w") as f:
                json.dump(sidecar(name, i, rep, a, rng), f, indent=2)


main()
