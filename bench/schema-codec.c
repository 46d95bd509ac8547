/*
 * schema-codec.c: figures for the wire codec.  Prints, for a full container
 * snapshot (sample with every field set), a minimal event and an image of
 * 5000 packages: encoded bytes, encodes/s, decodes/s (tm_decode, with the
 * bounded pre-scan) and MB/s decoded.  Run: bench/schema-codec [SECONDS]
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "common/common.h"
#include "schema/schema.h"
#include "tests/unit/schema-fixtures.h"

static double
now(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
bench(const char *name, struct tm_record *rec, double secs)
{
	msgpack_sbuffer	 sb;
	struct tm_record out;
	char		 detail[128];
	double		 t0, t;
	unsigned long	 n;

	msgpack_sbuffer_init(&sb);
	for (n = 0, t0 = now(); (t = now()) - t0 < secs; n++) {
		msgpack_sbuffer_clear(&sb);
		if (tm_encode(rec, &sb) == -1)
			fatalx("bench: encode failed");
	}
	printf("%-22s %8zu bytes  encode %9.0f/s", name, sb.size, n / (t - t0));
	for (n = 0, t0 = now(); (t = now()) - t0 < secs; n++) {
		if (tm_decode(sb.data, sb.size, &out, detail, sizeof(detail)) != TM_OK)
			fatalx("bench: decode failed: %s", detail);
		tm_record_free(&out);
	}
	printf("  decode %9.0f/s  %7.1f MB/s\n", n / (t - t0),
	    n * (double)sb.size / (t - t0) / 1e6);
	msgpack_sbuffer_destroy(&sb);
}

int
main(int argc, char **argv)
{
	struct tm_record rec;
	double		 secs = argc > 1 ? atof(argv[1]) : 1.0;

	log_init("schema-codec", LOG_LEVEL_WARN);
	fx_record(&rec, TM_KIND_CONTAINER, 1);
	bench("container (all fields)", &rec, secs);
	tm_record_free(&rec);
	fx_record(&rec, TM_KIND_EVENT, 0);
	bench("event (required only)", &rec, secs);
	tm_record_free(&rec);
	fx_big_image(&rec, 5000, 1);
	bench("image (5000 packages)", &rec, secs);
	tm_record_free(&rec);
	return 0;
}
