/* SPDX-License-Identifier: MIT */
/* ctf: TSDL generation matching packet.h. */
#include "metadata.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>

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
			   "};\n\n"
			   "stream {\n"
			   "\tid = 0;\n"
			   "\tevent.header := struct event_header_compact;\n"
			   "\tpacket.context := struct packet_context;\n"
			   "};\n\n",
			   clock->uuid, clock->source, clock->freq, clock->offset_s, clock->offset,
			   REEL_CTF_COMPACT_ID_MAX, REEL_CTF_EXTENDED_ID);
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
	reel_strbuf_printf(out, "event {\n\tname = \"");
	reel_strbuf_escaped(out, event->provider);
	reel_strbuf_printf(out, ":");
	reel_strbuf_escaped(out, event->name);
	reel_strbuf_printf(out,
			   "\";\n\tid = %" PRIu32 ";\n\tstream_id = 0;\n\tloglevel = %d;\n"
			   "\tfields := struct {\n",
			   event->id, event->loglevel);
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
