// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: the sidecar reader (a *.ktstr.json file a user points
 * `ktstr stats` at). A sidecar that reads must write back to JSON that
 * reads again into the same variant.
 */
#include <stdint.h>
#include <stdlib.h>

#include "results/results.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kt_sidecar sc = {0}, again = {0};
	json_error_t je;
	json_t *j = json_loadb((const char *)data, size, 0, &je), *out;
	char *err = NULL, *name;

	if (!j)
		return 0;
	if (kt_sidecar_from_json(j, &sc, &err)) {
		if (!err)
			__builtin_trap();
		free(err);
		kt_sidecar_free(&sc);
		json_decref(j);
		return 0;
	}
	json_decref(j);
	out = kt_sidecar_to_json(&sc);
	if (kt_sidecar_from_json(out, &again, &err))
		__builtin_trap();
	if (kt_sidecar_variant_hash(&sc) != kt_sidecar_variant_hash(&again) ||
	    sc.passed != again.passed || sc.skipped != again.skipped)
		__builtin_trap();
	name = kt_sidecar_file_name(&sc);
	free(name);
	json_decref(out);
	kt_sidecar_free(&again);
	kt_sidecar_free(&sc);
	return 0;
}
