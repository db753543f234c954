// SPDX-License-Identifier: GPL-2.0
/* CRC32 (zlib), clocks, timestamps, TTY checks, environment. */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "util.h"

uint32_t kt_crc32_update(uint32_t crc, const void *data, size_t len)
{
	const unsigned char *p = data;

	while (len) {
		uInt chunk = len > (1u << 30) ? (1u << 30) : (uInt)len;

		crc = (uint32_t)crc32(crc, p, chunk);
		p += chunk;
		len -= chunk;
	}
	return crc;
}

uint32_t kt_crc32(const void *data, size_t len)
{
	return kt_crc32_update((uint32_t)crc32(0, Z_NULL, 0), data, len);
}

uint64_t kt_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void kt_utc_timestamp(time_t t, char *buf, size_t len)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int kt_parse_utc_timestamp(const char *s, time_t *out)
{
	struct tm tm;
	const char *end;

	memset(&tm, 0, sizeof(tm));
	end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (!end || *end)
		return -1;
	*out = timegm(&tm);
	return 0;
}

bool kt_isatty_stderr(void)
{
	return isatty(2);
}

bool kt_isatty_stdout(void)
{
	return isatty(1);
}

const char *kt_getenv(const char *name)
{
	const char *v = getenv(name);

	return v && *v ? v : NULL;
}
