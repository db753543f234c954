// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: the topology a user or a test declares ("NnLlCcTt" or
 * "N,L,C,T") and the cpulists of cpusets. A topology that parses is valid,
 * within the engine's limits, and formats to a string that parses to the
 * same one; a cpulist that parses formats to one that parses to the same set.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "topo/topo.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = strndup((const char *)data, size), *err = NULL;
	char buf[KT_TOPO_SPEC_STRLEN], list[4 * KT_MAX_CPUS];
	struct kt_topo_spec t, again, raw;
	struct kt_cpuset cs, cs2;
	int cpus;

	if (kt_topo_spec_parse(s, &t, &err) == 0) {
		cpus = kt_topo_spec_cpus(&t);
		if (cpus < 1 || cpus > KT_TOPO_MAX_CPUS || kt_topo_spec_check(&t, &err))
			__builtin_trap();
		kt_topo_spec_format(&t, buf, sizeof(buf));
		if (kt_topo_spec_parse(buf, &again, &err) || !kt_topo_spec_equal(&t, &again))
			__builtin_trap();
	} else {
		if (!err)
			__builtin_trap();
		free(err);
	}
	err = NULL;
	/* The syntax alone (the test API): whatever it scans formats within bounds. */
	if (kt_topo_spec_scan(s, &raw, &err) == 0) {
		kt_topo_spec_format(&raw, buf, sizeof(buf));
		kt_topo_spec_cpus(&raw);
		if (kt_topo_spec_validate(&raw, &err))
			free(err);
	} else {
		free(err);
	}
	if (kt_cpuset_parse(s, &cs) == 0) {
		kt_cpuset_format(&cs, list, sizeof(list));
		if (kt_cpuset_parse(list, &cs2) || !kt_cpuset_equal(&cs, &cs2))
			__builtin_trap();
	}
	free(s);
	return 0;
}
