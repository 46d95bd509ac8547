/*
 * schema-fixtures.h: sample records for the schema tests.  The builders set
 * each struct member by hand from the wire key schema.h documents for it,
 * to a value derived from that key (fx_str, fx_u64, fx_i64), so a test can
 * check a record's JSON key by key without trusting fields.c's offsets.
 */
#ifndef TALLYMAN_SCHEMA_FIXTURES_H
#define TALLYMAN_SCHEMA_FIXTURES_H

#include "schema/schema.h"

/* The string, unsigned and signed values a builder gives to key. */
char	*fx_str(const char *key);		/* caller frees */
const char *fx_str_const(const char *key, char *buf, size_t len);
uint64_t fx_u64(const char *key);
int64_t	 fx_i64(const char *key);

/* Fill rec (zeroed here) with a record of kind: full = 1 sets every member
 * (lists with two entries), 0 only the required ones.  tm_record_free. */
void	fx_record(struct tm_record *rec, enum tm_kind kind, int full);
/* An image record with npkgs packages (for splitting). */
void	fx_big_image(struct tm_record *rec, size_t npkgs, uint64_t seq);

#endif
