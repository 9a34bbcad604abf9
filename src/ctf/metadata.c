/* SPDX-License-Identifier: MIT */
/* ctf: TSDL generation matching packet.h. */
#include "metadata.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "packet.h"

void reel_ctf_uuid_string(const uint8_t u[16], char ret[37])
{
	snprintf(ret, 37,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", u[0],
		 u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13],
		 u[14], u[15]);
}

static const char *byte_order(void)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	return "le";
#else
	return "be";
#endif
}

int reel_ctf_metadata_header(struct reel_strbuf *out, const struct reel_ctf_trace_desc *trace)
{
	char uuid[37];
	const struct reel_clock_desc *clock = trace->clock;

	reel_ctf_uuid_string(trace->uuid, uuid);
	reel_strbuf_printf(out,
			   "/* CTF 1.8 */\n\n"
			   "typealias integer { size = 8; align = 8; signed = false; } := uint8_t;\n"
			   "typealias integer { size = 16; align = 8; signed = false; } := uint16_t;\n"
			   "typealias integer { size = 32; align = 8; signed = false; } := uint32_t;\n"
			   "typealias integer { size = 64; align = 8; signed = false; } := uint64_t;\n"
			   "typealias integer { size = 5; align = 1; signed = false; } := uint5_t;\n\n"
			   "trace {\n"
			   "\tmajor = 1;\n\tminor = 8;\n"
			   "\tuuid = \"%s\";\n"
			   "\tbyte_order = %s;\n"
			   "\tpacket.header := struct {\n"
			   "\t\tuint32_t magic;\n"
			   "\t\tuint8_t uuid[16];\n"
			   "\t\tuint32_t stream_id;\n"
			   "\t\tuint64_t stream_instance_id;\n"
			   "\t};\n"
			   "};\n\n"
			   "env {\n",
			   uuid, byte_order());
	for (unsigned int i = 0; i < trace->nr_env; i++) {
		const struct reel_ctf_env_entry *e = &trace->env[i];
		if (e->str) {
			reel_strbuf_printf(out, "\t%s = \"", e->key);
			reel_strbuf_escaped(out, e->str);
			reel_strbuf_printf(out, "\";\n");
		} else {
			reel_strbuf_printf(out, "\t%s = %" PRId64 ";\n", e->key, e->num);
		}
	}
	reel_strbuf_printf(out,
			   "};\n\n"
			   "clock {\n"
			   "\tname = \"monotonic\";\n"
			   "\tuuid = \"%s\";\n"
			   "\tdescription = \"Reel trace clock (%s)\";\n"
			   "\tfreq = %" PRIu64 ";\n"
			   "\tprecision = 1;\n"
			   "\toffset_s = %" PRId64 ";\n"
			   "\toffset = %" PRIu64 ";\n"
			   "\tabsolute = TRUE;\n"
			   "};\n\n"
			   "typealias integer {\n"
			   "\tsize = 27; align = 1; signed = false;\n"
			   "\tmap = clock.monotonic.value;\n"
			   "} := uint27_clock_monotonic_t;\n\n"
			   "typealias integer {\n"
			   "\tsize = 64; align = 8; signed = false;\n"
			   "\tmap = clock.monotonic.value;\n"
			   "} := uint64_clock_monotonic_t;\n\n"
			   "struct packet_context {\n"
			   "\tuint64_clock_monotonic_t timestamp_begin;\n"
			   "\tuint64_t packet_seq_num;\n"
			   "\tuint32_t cpu_id;\n"
			   "\tuint64_clock_monotonic_t timestamp_end;\n"
			   "\tuint64_t content_size;\n"
			   "\tuint64_t packet_size;\n"
			   "\tuint64_t events_discarded;\n"
			   "};\n\n"
			   "struct event_header_compact {\n"
			   "\tenum : uint5_t { compact = 0 ... %u, extended = %u } id;\n"
			   "\tvariant <id> {\n"
			   "\t\tstruct {\n"
			   "\t\t\tuint27_clock_monotonic_t timestamp;\n"
			   "\t\t} compact;\n"
			   "\t\tstruct {\n"
			   "\t\t\tuint32_t id;\n"
			   "\t\t\tuint64_clock_monotonic_t timestamp;\n"
			   "\t\t} extended;\n"
			   "\t} v;\n"
			   "};\n\n",
			   clock->uuid, clock->source, clock->freq, clock->offset_s, clock->offset,
			   REEL_CTF_COMPACT_ID_MAX, REEL_CTF_EXTENDED_ID);
	for (uint32_t id = 0; id < (trace->nr_streams ? trace->nr_streams : 1); id++) {
		reel_strbuf_printf(out,
				   "stream {\n"
				   "\tid = %" PRIu32 ";\n"
				   "\tevent.header := struct event_header_compact;\n"
				   "\tpacket.context := struct packet_context;\n",
				   id);
		uint32_t context = trace->stream_contexts ? trace->stream_contexts[id] : 0;
		if (context) {
			/* In the order the tracer writes them (<reel/abi.h>). */
			reel_strbuf_printf(out, "\tevent.context := struct {\n");
			if (context & REEL_CONTEXT_VPID)
				reel_strbuf_printf(out, "\t\tinteger { size = 32; align = 8; signed = 1; encoding = none; base = 10; } _vpid;\n");
			if (context & REEL_CONTEXT_VTID)
				reel_strbuf_printf(out, "\t\tinteger { size = 32; align = 8; signed = 1; encoding = none; base = 10; } _vtid;\n");
			if (context & REEL_CONTEXT_PROCNAME)
				reel_strbuf_printf(out, "\t\tstring { encoding = UTF8; } _procname;\n");
			if (context & REEL_CONTEXT_PTHREAD_ID)
				reel_strbuf_printf(out, "\t\tinteger { size = 64; align = 8; signed = 0; encoding = none; base = 16; } _pthread_id;\n");
			if (context & REEL_CONTEXT_CPU_ID)
				reel_strbuf_printf(out, "\t\tinteger { size = 32; align = 8; signed = 0; encoding = none; base = 10; } _cpu_id;\n");
			if (context & REEL_CTF_CONTEXT_KERNEL_TID)
				reel_strbuf_printf(out, "\t\tinteger { size = 32; align = 8; signed = 1; encoding = none; base = 10; } _tid;\n");
			reel_strbuf_printf(out, "\t};\n");
		}
		reel_strbuf_printf(out, "};\n\n");
	}
	return out->failed ? -ENOMEM : 0;
}

static void integer_type(struct reel_strbuf *out, const struct reel_field_desc *f)
{
	reel_strbuf_printf(out,
			   "integer { size = %u; align = 8; signed = %d; encoding = none; base = %u; }",
			   f->size_bits, f->is_signed ? 1 : 0, f->base == 16 ? 16u : 10u);
}

static void enum_value(struct reel_strbuf *out, const struct reel_field_desc *f, int64_t v)
{
	if (f->is_signed)
		reel_strbuf_printf(out, "%" PRId64, v);
	else
		reel_strbuf_printf(out, "%" PRIu64, (uint64_t)v);
}

static void enum_type(struct reel_strbuf *out, const struct reel_field_desc *f)
{
	const struct reel_enum_desc *e = f->enum_desc;
	reel_strbuf_printf(out, "enum : ");
	integer_type(out, f);
	reel_strbuf_printf(out, " {");
	for (size_t i = 0; e && i < e->nr_labels; i++) {
		const struct reel_enum_label *l = &e->labels[i];
		reel_strbuf_printf(out, "%s\n\t\t\t\"", i ? "," : "");
		reel_strbuf_escaped(out, l->label);
		reel_strbuf_printf(out, "\" = ");
		enum_value(out, f, l->first);
		if (l->last != l->first) {
			reel_strbuf_printf(out, " ... ");
			enum_value(out, f, l->last);
		}
	}
	reel_strbuf_printf(out, "\n\t\t}");
}

int reel_ctf_metadata_event(struct reel_strbuf *out, const struct reel_event_desc *event)
{
	return reel_ctf_metadata_event_in(out, event, event->id, 0);
}

int reel_ctf_metadata_event_in(struct reel_strbuf *out, const struct reel_event_desc *event,
			       uint32_t id, uint32_t stream_id)
{
	reel_strbuf_printf(out, "event {\n\tname = \"");
	reel_strbuf_escaped(out, event->provider);
	reel_strbuf_printf(out, ":");
	reel_strbuf_escaped(out, event->name);
	reel_strbuf_printf(out,
			   "\";\n\tid = %" PRIu32 ";\n\tstream_id = %" PRIu32 ";\n\tloglevel = %d;\n"
			   "\tfields := struct {\n",
			   id, stream_id, event->loglevel);
	for (size_t i = 0; i < event->nr_fields; i++) {
		const struct reel_field_desc *f = &event->fields[i];
		reel_strbuf_printf(out, "\t\t");
		switch (f->kind) {
		case REEL_FIELD_INTEGER:
			integer_type(out, f);
			reel_strbuf_printf(out, " _%s;\n", f->name);
			break;
		case REEL_FIELD_FLOAT:
			reel_strbuf_printf(out,
					   "floating_point { exp_dig = %u; mant_dig = %u; align = 8; } _%s;\n",
					   f->size_bits == 32 ? 8u : 11u,
					   f->size_bits == 32 ? 24u : 53u, f->name);
			break;
		case REEL_FIELD_STRING:
			reel_strbuf_printf(out, "string { encoding = UTF8; } _%s;\n", f->name);
			break;
		case REEL_FIELD_ARRAY:
			integer_type(out, f);
			reel_strbuf_printf(out, " _%s[%" PRIu32 "];\n", f->name, f->length);
			break;
		case REEL_FIELD_SEQUENCE:
			reel_strbuf_printf(out,
					   "integer { size = 32; align = 8; signed = 0; encoding = none; base = 10; } __%s_length;\n\t\t",
					   f->name);
			integer_type(out, f);
			reel_strbuf_printf(out, " _%s[ __%s_length ];\n", f->name, f->name);
			break;
		case REEL_FIELD_ENUM:
			enum_type(out, f);
			reel_strbuf_printf(out, " _%s;\n", f->name);
			break;
		default:
			return -EINVAL;
		}
	}
	reel_strbuf_printf(out, "\t};\n};\n\n");
	return out->failed ? -ENOMEM : 0;
}

static bool field_is_valid(const struct reel_field_desc *f)
{
	bool int_size = f->size_bits == 8 || f->size_bits == 16 || f->size_bits == 32 ||
			f->size_bits == 64;
	switch (f->kind) {
	case REEL_FIELD_INTEGER:
	case REEL_FIELD_SEQUENCE:
		return int_size;
	case REEL_FIELD_ARRAY:
		return int_size && f->length > 0;
	case REEL_FIELD_ENUM:
		return int_size && f->enum_desc && f->enum_desc->labels;
	case REEL_FIELD_FLOAT:
		return f->size_bits == 32 || f->size_bits == 64;
	case REEL_FIELD_STRING:
		return true;
	default:
		return false;
	}
}

/* Enumeration labels must be ranges the container type can hold. */
static bool enum_is_valid(const struct reel_field_desc *f)
{
	const struct reel_enum_desc *e = f->enum_desc;
	for (size_t i = 0; i < e->nr_labels; i++) {
		const struct reel_enum_label *l = &e->labels[i];
		if (!l->label)
			return false;
		if (f->is_signed) {
			int64_t max = f->size_bits == 64 ? INT64_MAX :
							   (int64_t)((1ull << (f->size_bits - 1)) - 1);
			if (l->first > l->last || l->first < -max - 1 || l->last > max)
				return false;
		} else {
			uint64_t max = f->size_bits == 64 ? UINT64_MAX : (1ull << f->size_bits) - 1;
			if ((uint64_t)l->first > (uint64_t)l->last || (uint64_t)l->last > max)
				return false;
		}
	}
	return true;
}

/* The names a field takes in the metadata: `_name`, and for a sequence
 * also `__name_length`. */
static void emitted_names(const struct reel_field_desc *f, char ret[2][300])
{
	snprintf(ret[0], sizeof(ret[0]), "_%s", f->name);
	if (f->kind == REEL_FIELD_SEQUENCE)
		snprintf(ret[1], sizeof(ret[1]), "__%s_length", f->name);
	else
		ret[1][0] = '\0';
}

static int compare_names(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* No two fields may take one name in the metadata (sorted: n log n). */
static bool names_are_unique(const struct reel_field_desc *fields, size_t n)
{
	if (n < 2)
		return true;
	char (*names)[2][300] = malloc(n * sizeof(*names));
	const char **sorted = malloc(2 * n * sizeof(*sorted));
	bool unique = names && sorted;
	size_t m = 0;
	for (size_t i = 0; unique && i < n; i++) {
		emitted_names(&fields[i], names[i]);
		for (int k = 0; k < 2; k++)
			if (names[i][k][0])
				sorted[m++] = names[i][k];
	}
	if (unique) {
		qsort(sorted, m, sizeof(*sorted), compare_names);
		for (size_t i = 1; i < m && unique; i++)
			unique = strcmp(sorted[i - 1], sorted[i]) != 0;
	}
	free(names);
	free(sorted);
	return unique;
}

/* Field names become TSDL identifiers (`_name`): C identifiers only. */
static bool is_identifier(const char *s)
{
	if (!(*s == '_' || (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z')))
		return false;
	for (s++; *s; s++)
		if (!(*s == '_' || (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9')))
			return false;
	return true;
}

bool reel_ctf_event_is_valid(const struct reel_event_desc *desc)
{
	if (desc->struct_size < sizeof(struct reel_event_desc) || !desc->provider || !desc->name ||
	    (desc->nr_fields && !desc->fields) || strlen(desc->provider) + strlen(desc->name) > 256)
		return false;
	for (size_t i = 0; i < desc->nr_fields; i++) {
		const struct reel_field_desc *f = &desc->fields[i];
		if (!f->name || strlen(f->name) > 256 || !is_identifier(f->name) ||
		    !field_is_valid(f) ||
		    (f->kind == REEL_FIELD_ENUM && !enum_is_valid(f)))
			return false;
	}
	return names_are_unique(desc->fields, desc->nr_fields);
}

int reel_ctf_payload_size(const struct reel_field_desc *fields, size_t nr_fields,
			  const char *payload, size_t avail, size_t *ret)
{
	size_t pos = 0;
	for (size_t i = 0; i < nr_fields; i++) {
		const struct reel_field_desc *f = &fields[i];
		size_t bytes = f->size_bits / 8, n;
		switch (f->kind) {
		case REEL_FIELD_INTEGER:
		case REEL_FIELD_ENUM:
		case REEL_FIELD_FLOAT:
			n = bytes;
			break;
		case REEL_FIELD_STRING: {
			const char *nul = memchr(payload + pos, '\0', avail - pos);
			if (!nul)
				return -EBADMSG;
			n = (size_t)(nul - (payload + pos)) + 1;
			break;
		}
		case REEL_FIELD_ARRAY:
			n = (size_t)f->length * bytes;
			break;
		case REEL_FIELD_SEQUENCE: {
			uint32_t len;
			if (avail - pos < sizeof(len))
				return -EBADMSG;
			memcpy(&len, payload + pos, sizeof(len));
			pos += sizeof(len);
			if (__builtin_mul_overflow((size_t)len, bytes, &n))
				return -EBADMSG;
			break;
		}
		default:
			return -EBADMSG;
		}
		if (n > avail - pos)
			return -EBADMSG;
		pos += n;
	}
	*ret = pos;
	return 0;
}
