/* SPDX-License-Identifier: MIT */
/*
 * Reel instrumentation macros: define a provider's events with typed fields
 * and emit them from application code.
 *
 *   #include <reel/tracepoint.h>
 *
 *   REEL_EVENT(myapp, request, REEL_LOGLEVEL_INFO,
 *       (int32_t id, const char *path, const uint8_t *digest, size_t n),
 *       reel_field_integer(int32_t, id, id)
 *       reel_field_string(path, path)
 *       reel_field_sequence(uint8_t, digest, digest, n))
 *
 *   reel_tracepoint(myapp, request, 42, "/index.html", d, 16);
 *
 * A provider header may be included by any number of translation units: the
 * event descriptions are hidden weak symbols (one per shared object) and
 * register themselves with libreel-ust from a constructor (and unregister
 * from a destructor, so that a provider library can be unloaded). A disabled event
 * costs one load and one predicted branch at the call site.
 *
 * Arguments are checked as function arguments, and the usual silent C
 * conversions between pointers, integers and floating-point values are
 * compile errors at a tracepoint call. The header compiles as C11 and C++11.
 */
#ifndef REEL_TRACEPOINT_H
#define REEL_TRACEPOINT_H


#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <reel/abi.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Log levels, numbered as LTTng-UST's (and syslog's first eight). */
enum reel_loglevel {
	REEL_LOGLEVEL_EMERG = 0,
	REEL_LOGLEVEL_ALERT = 1,
	REEL_LOGLEVEL_CRIT = 2,
	REEL_LOGLEVEL_ERR = 3,
	REEL_LOGLEVEL_WARNING = 4,
	REEL_LOGLEVEL_NOTICE = 5,
	REEL_LOGLEVEL_INFO = 6,
	REEL_LOGLEVEL_DEBUG_SYSTEM = 7,
	REEL_LOGLEVEL_DEBUG_PROGRAM = 8,
	REEL_LOGLEVEL_DEBUG_PROCESS = 9,
	REEL_LOGLEVEL_DEBUG_MODULE = 10,
	REEL_LOGLEVEL_DEBUG_UNIT = 11,
	REEL_LOGLEVEL_DEBUG_FUNCTION = 12,
	REEL_LOGLEVEL_DEBUG_LINE = 13,
	REEL_LOGLEVEL_DEBUG = 14,
};

/* ---- field declarations ------------------------------------------------
 * Each field macro expands to a tuple whose first element names its kind;
 * REEL_EVENT walks the sequence of tuples several times (description, size,
 * serialization). */

/* An integer of 8 to 64 bits; `type` is a C integer type. */
#define reel_field_integer(type, name, expr) (INT, type, name, expr, 10)
/* The same, shown in hexadecimal by readers. */
#define reel_field_integer_hex(type, name, expr) (INT, type, name, expr, 16)
/* float or double. */
#define reel_field_float(type, name, expr) (FLOAT, type, name, expr)
/* A NUL-terminated string; NULL is recorded as "(null)". */
#define reel_field_string(name, expr) (STRING, name, expr)
/* `len` integers of `type` read from `ptr`; `len` is a constant. */
#define reel_field_array(type, name, ptr, len) (ARRAY, type, name, ptr, len)
/* A variable number `len_expr` of integers of `type` read from `ptr`,
 * recorded after a `_<name>_length` field (uint32), as LTTng does. */
#define reel_field_sequence(type, name, ptr, len_expr) \
	(SEQUENCE, type, name, ptr, len_expr)
/* An integer of `type` shown with the labels of enumeration
 * `provider:enum_name`, declared with REEL_ENUM. */
#define reel_field_enum(provider, enum_name, type, name, expr) \
	(ENUM, provider, enum_name, type, name, expr)

/* Enumeration labels: one value, or an inclusive range. */
#define reel_enum_value(label, value) (LABEL, label, value, value)
#define reel_enum_range(label, first, last) (LABEL, label, first, last)

/* ---- internals ----------------------------------------------------------- */

#define REEL__CAT(a, b) REEL__CAT_I(a, b)
#define REEL__CAT_I(a, b) a##b

/* Apply macro family PREFIX to each (KIND, ...) tuple of a sequence. The
 * two alternating helpers let the preprocessor walk a sequence of any
 * length; each kind names the next helper, and the (END, 0) sentinel names
 * none. */
#define REEL__EACH(prefix, seq) REEL__EACH_A_##prefix seq(END, 0)
#define REEL__NEXT_INT(ab, prefix) REEL__EACH_##ab##_##prefix
#define REEL__NEXT_FLOAT(ab, prefix) REEL__EACH_##ab##_##prefix
#define REEL__NEXT_STRING(ab, prefix) REEL__EACH_##ab##_##prefix
#define REEL__NEXT_ARRAY(ab, prefix) REEL__EACH_##ab##_##prefix
#define REEL__NEXT_SEQUENCE(ab, prefix) REEL__EACH_##ab##_##prefix
#define REEL__NEXT_ENUM(ab, prefix) REEL__EACH_##ab##_##prefix
#define REEL__NEXT_LABEL(ab, prefix) REEL__EACH_##ab##_##prefix
#define REEL__NEXT_END(ab, prefix)

#ifdef __cplusplus
#define REEL__STATIC_ASSERT(cond, msg) static_assert(cond, msg)
#else
#define REEL__STATIC_ASSERT(cond, msg) _Static_assert(cond, msg)
#endif

#define REEL__LIKELY(x) __builtin_expect(!!(x), 1)
#define REEL__UNLIKELY(x) __builtin_expect(!!(x), 0)

#define REEL__IS_SIGNED(type) ((type)-1 < (type)1)
/* True for integer types: a cast of 0.5 truncates to 0 only for them. */
#define REEL__IS_INTEGER(type) ((type)0.5 == (type)0)
#ifdef __cplusplus
#define REEL__IS_FLOAT(type) (!REEL__IS_INTEGER(type) && (sizeof(type) == 4 || sizeof(type) == 8))
#else
#define REEL__IS_FLOAT(type) _Generic((type)0, float : 1, double : 1, default : 0)
#endif

/* Walker helpers, one pair per pass. */
#define REEL__EACH_A_DESC(kind, ...) REEL__DESC_##kind(__VA_ARGS__) REEL__NEXT_##kind(B, DESC)
#define REEL__EACH_B_DESC(kind, ...) REEL__DESC_##kind(__VA_ARGS__) REEL__NEXT_##kind(A, DESC)
#define REEL__DESC_END(unused)
#define REEL__EACH_A_CHECK(kind, ...) REEL__CHECK_##kind(__VA_ARGS__) REEL__NEXT_##kind(B, CHECK)
#define REEL__EACH_B_CHECK(kind, ...) REEL__CHECK_##kind(__VA_ARGS__) REEL__NEXT_##kind(A, CHECK)
#define REEL__CHECK_END(unused)
#define REEL__EACH_A_LOCAL(kind, ...) REEL__LOCAL_##kind(__VA_ARGS__) REEL__NEXT_##kind(B, LOCAL)
#define REEL__EACH_B_LOCAL(kind, ...) REEL__LOCAL_##kind(__VA_ARGS__) REEL__NEXT_##kind(A, LOCAL)
#define REEL__LOCAL_END(unused)
#define REEL__EACH_A_SIZE(kind, ...) REEL__SIZE_##kind(__VA_ARGS__) REEL__NEXT_##kind(B, SIZE)
#define REEL__EACH_B_SIZE(kind, ...) REEL__SIZE_##kind(__VA_ARGS__) REEL__NEXT_##kind(A, SIZE)
#define REEL__SIZE_END(unused)
#define REEL__EACH_A_WRITE(kind, ...) REEL__WRITE_##kind(__VA_ARGS__) REEL__NEXT_##kind(B, WRITE)
#define REEL__EACH_B_WRITE(kind, ...) REEL__WRITE_##kind(__VA_ARGS__) REEL__NEXT_##kind(A, WRITE)
#define REEL__WRITE_END(unused)
#define REEL__EACH_A_LABEL(kind, ...) REEL__LABEL_##kind(__VA_ARGS__) REEL__NEXT_##kind(B, LABEL)
#define REEL__EACH_B_LABEL(kind, ...) REEL__LABEL_##kind(__VA_ARGS__) REEL__NEXT_##kind(A, LABEL)
#define REEL__LABEL_END(unused)

/* Field descriptions (positional initializers: C++11 has no designated
 * ones). Order: name, kind, size_bits, is_signed, base, length, enum. */
#define REEL__DESC_INT(type, name, expr, base) \
	{ #name, REEL_FIELD_INTEGER, sizeof(type) * 8, REEL__IS_SIGNED(type), base, 0, NULL },
#define REEL__DESC_FLOAT(type, name, expr) \
	{ #name, REEL_FIELD_FLOAT, sizeof(type) * 8, 1, 10, 0, NULL },
#define REEL__DESC_STRING(name, expr) \
	{ #name, REEL_FIELD_STRING, 8, 0, 10, 0, NULL },
#define REEL__DESC_ARRAY(type, name, ptr, len) \
	{ #name, REEL_FIELD_ARRAY, sizeof(type) * 8, REEL__IS_SIGNED(type), 10, len, NULL },
#define REEL__DESC_SEQUENCE(type, name, ptr, len_expr) \
	{ #name, REEL_FIELD_SEQUENCE, sizeof(type) * 8, REEL__IS_SIGNED(type), 10, 0, NULL },
#define REEL__DESC_ENUM(provider, enum_name, type, name, expr) \
	{ #name, REEL_FIELD_ENUM, sizeof(type) * 8, REEL__IS_SIGNED(type), 10, 0, \
	  &reel__enum_##provider##___##enum_name },

/* Compile-time checks of the declared field types. */
#define REEL__CHECK_INTEGER_TYPE(type, name)                                       \
	REEL__STATIC_ASSERT(REEL__IS_INTEGER(type) && sizeof(type) <= 8,           \
			    "field '" #name "': an integer type of 8 to 64 bits is required");
#define REEL__CHECK_INT(type, name, expr, base) REEL__CHECK_INTEGER_TYPE(type, name)
#define REEL__CHECK_FLOAT(type, name, expr)                                        \
	REEL__STATIC_ASSERT(REEL__IS_FLOAT(type),                                  \
			    "field '" #name "': float or double is required");
#define REEL__CHECK_STRING(name, expr)
#define REEL__CHECK_ARRAY(type, name, ptr, len)                                    \
	REEL__CHECK_INTEGER_TYPE(type, name)                                       \
	REEL__STATIC_ASSERT((len) > 0, "field '" #name "': array length must be > 0");
#define REEL__CHECK_SEQUENCE(type, name, ptr, len_expr) REEL__CHECK_INTEGER_TYPE(type, name)
#define REEL__CHECK_ENUM(provider, enum_name, type, name, expr) \
	REEL__CHECK_INTEGER_TYPE(type, name)

/* Locals: each field's value is evaluated once, into a typed variable, so
 * that the usual conversion errors apply to the field expressions too. */
#define REEL__LOCAL_INT(type, name, expr, base) const type reel__v_##name = (expr);
#define REEL__LOCAL_FLOAT(type, name, expr) const type reel__v_##name = (expr);
#define REEL__LOCAL_STRING(name, expr)                                          \
	const char *reel__v_##name = (expr);                                    \
	if (!reel__v_##name)                                                    \
		reel__v_##name = "(null)";                                      \
	const size_t reel__n_##name = strlen(reel__v_##name) + 1;
#define REEL__LOCAL_ARRAY(type, name, ptr, len) const type *reel__v_##name = (ptr);
#define REEL__LOCAL_SEQUENCE(type, name, ptr, len_expr)                         \
	const type *reel__v_##name = (ptr);                                     \
	const uint32_t reel__n_##name = (uint32_t)(len_expr);
#define REEL__LOCAL_ENUM(provider, enum_name, type, name, expr) \
	const type reel__v_##name = (expr);

#define REEL__SIZE_INT(type, name, expr, base) +sizeof(type)
#define REEL__SIZE_FLOAT(type, name, expr) +sizeof(type)
#define REEL__SIZE_STRING(name, expr) +reel__n_##name
#define REEL__SIZE_ARRAY(type, name, ptr, len) +sizeof(type) * (size_t)(len)
#define REEL__SIZE_SEQUENCE(type, name, ptr, len_expr) \
	+sizeof(uint32_t) + sizeof(type) * (size_t)reel__n_##name
#define REEL__SIZE_ENUM(provider, enum_name, type, name, expr) +sizeof(type)

/* Serialization: fields are packed (byte-aligned, native byte order), as
 * the metadata declares them. */
#define REEL__PUT(ptr, len)                \
	do {                               \
		memcpy(reel__pos, ptr, len); \
		reel__pos += (len);          \
	} while (0);
#define REEL__WRITE_INT(type, name, expr, base) REEL__PUT(&reel__v_##name, sizeof(type))
#define REEL__WRITE_FLOAT(type, name, expr) REEL__PUT(&reel__v_##name, sizeof(type))
#define REEL__WRITE_STRING(name, expr) \
	reel__pos = reel__put_string(reel__pos, reel__v_##name, reel__n_##name);
#define REEL__WRITE_ARRAY(type, name, ptr, len) \
	REEL__PUT(reel__v_##name, sizeof(type) * (size_t)(len))
#define REEL__WRITE_SEQUENCE(type, name, ptr, len_expr) \
	REEL__PUT(&reel__n_##name, sizeof(uint32_t))    \
	REEL__PUT(reel__v_##name, sizeof(type) * (size_t)reel__n_##name)
#define REEL__WRITE_ENUM(provider, enum_name, type, name, expr) \
	REEL__PUT(&reel__v_##name, sizeof(type))

#define REEL__LABEL_LABEL(label, first, last) { label, (int64_t)(first), (int64_t)(last) },

#define REEL__HIDDEN_WEAK __attribute__((weak, visibility("hidden")))

/* The definitions are written to compile as C and as C++: C casts, which
 * C++ projects often warn about, and declarations after statements, which
 * some C projects do. Not the application's code, not its warnings. */
#ifdef __cplusplus
#define REEL__DEFS_BEGIN                                              \
	_Pragma("GCC diagnostic push")                                \
	_Pragma("GCC diagnostic ignored \"-Wold-style-cast\"")
#else
#define REEL__DEFS_BEGIN                                              \
	_Pragma("GCC diagnostic push")                                \
	_Pragma("GCC diagnostic ignored \"-Wdeclaration-after-statement\"")
#endif
#define REEL__DEFS_END _Pragma("GCC diagnostic pop")
/* Constants at namespace scope have internal linkage in C++ unless extern. */
#ifdef __cplusplus
#define REEL__CONST extern const
#else
#define REEL__CONST const
#endif

/* ---- definitions ------------------------------------------------------- */

/*
 * REEL_ENUM(provider, name, labels): declare an enumeration usable by
 * reel_field_enum(). `labels` is a sequence of reel_enum_value(label, value)
 * and reel_enum_range(label, first, last).
 */
#define REEL_ENUM(provider, enum_name, labels)                                   \
	REEL__DEFS_BEGIN                                                         \
	REEL__HIDDEN_WEAK REEL__CONST struct reel_enum_label                           \
		reel__enum_labels_##provider##___##enum_name[] = {               \
			REEL__EACH(LABEL, labels){ NULL, 0, 0 }                  \
		};                                                               \
	REEL__HIDDEN_WEAK REEL__CONST struct reel_enum_desc reel__enum_##provider##___##enum_name = { \
		#provider "_" #enum_name,                                        \
		reel__enum_labels_##provider##___##enum_name,                    \
		sizeof(reel__enum_labels_##provider##___##enum_name) /           \
				sizeof(reel__enum_labels_##provider##___##enum_name[0]) - \
			1,                                                       \
	};                                                                       \
	REEL__DEFS_END

/*
 * REEL_EVENT(provider, event, loglevel, (args), fields): define event
 * `provider:event`. `args` is the parenthesized parameter list of the
 * tracepoint call, `(void)` when it has none; `fields` is a sequence of
 * reel_field_*() whose expressions may use the arguments.
 */
#define REEL_EVENT(provider, event, loglevel, args, fields)                       \
	REEL__DEFS_BEGIN                                                           \
	REEL__EACH(CHECK, fields)                                                  \
	static const struct reel_field_desc reel__fields_##provider##___##event[] = { \
		REEL__EACH(DESC, fields){ NULL, 0, 0, 0, 0, 0, NULL }              \
	};                                                                         \
	REEL__HIDDEN_WEAK struct reel_event_desc reel__event_##provider##___##event = { \
		sizeof(struct reel_event_desc),                                    \
		#provider,                                                         \
		#event,                                                            \
		loglevel,                                                          \
		reel__fields_##provider##___##event,                               \
		sizeof(reel__fields_##provider##___##event) /                      \
				sizeof(reel__fields_##provider##___##event[0]) - 1, \
		0,                                                                 \
		0,                                                                 \
		NULL,                                                              \
		NULL,                                                              \
	};                                                                         \
	/* Each translation unit registers the shared description with its own \
	 * field list, so that two different definitions of one event are      \
	 * caught rather than recorded with the wrong layout. */               \
	static void __attribute__((constructor, used))                             \
	reel__register_##provider##___##event(void)                                \
	{                                                                          \
		if (REEL__LOADED(reel_event_register))                             \
			reel_event_register(&reel__event_##provider##___##event,   \
					    reel__fields_##provider##___##event,   \
					    sizeof(reel__fields_##provider##___##event) / \
							    sizeof(reel__fields_##provider##___##event[0]) - \
						    1);                            \
	}                                                                          \
	static void __attribute__((destructor, used))                              \
	reel__unregister_##provider##___##event(void)                              \
	{                                                                          \
		if (REEL__LOADED(reel_event_unregister))                           \
			reel_event_unregister(&reel__event_##provider##___##event); \
	}                                                                          \
	static void __attribute__((noinline, unused))                              \
	reel__probe_##provider##___##event args                                    \
	{                                                                          \
		/* Acquire: pairs with libreel-ust's release of the list. */       \
		const struct reel_event_targets *reel__targets = __atomic_load_n(  \
			&reel__event_##provider##___##event.targets, __ATOMIC_ACQUIRE); \
		if (!reel__targets)                                                \
			return;                                                    \
		REEL__EACH(LOCAL, fields)                                          \
		const size_t reel__size = (size_t)0 REEL__EACH(SIZE, fields);     \
		for (uint32_t reel__i = 0; reel__i < reel__targets->nr; reel__i++) { \
			struct reel_event_ctx reel__ctx;                           \
			if (reel__event_reserve(&reel__ctx, &reel__targets->target[reel__i], \
						reel__size) != 0)                  \
				continue;                                          \
			char *reel__pos = reel__ctx.pos; /* a register */          \
			REEL__EACH(WRITE, fields)                                  \
			(void)reel__pos;                                           \
			reel__event_commit(&reel__ctx);                            \
		}                                                                  \
	}                                                                          \
	REEL__DEFS_END

/* Wrong argument types are errors at a tracepoint call, in C as in C++. */
#define REEL__STRICT_BEGIN                                                     \
	_Pragma("GCC diagnostic push")                                         \
	_Pragma("GCC diagnostic error \"-Wfloat-conversion\"")                 \
	REEL__STRICT_CLANG                                                     \
	REEL__STRICT_C
#define REEL__STRICT_END _Pragma("GCC diagnostic pop")
#if defined(__clang__)
#define REEL__STRICT_CLANG _Pragma("GCC diagnostic error \"-Wliteral-conversion\"")
#else
#define REEL__STRICT_CLANG
#endif
#if defined(__cplusplus)
#define REEL__STRICT_C
#elif defined(__clang__)
#define REEL__STRICT_C                                                         \
	_Pragma("GCC diagnostic error \"-Wint-conversion\"")                   \
	_Pragma("GCC diagnostic error \"-Wincompatible-pointer-types\"")       \
	_Pragma("GCC diagnostic error \"-Wincompatible-pointer-types-discards-qualifiers\"")
#else
#define REEL__STRICT_C                                                         \
	_Pragma("GCC diagnostic error \"-Wint-conversion\"")                   \
	_Pragma("GCC diagnostic error \"-Wincompatible-pointer-types\"")       \
	_Pragma("GCC diagnostic error \"-Wdiscarded-qualifiers\"")
#endif

/* True when provider:event is enabled: guards costly argument preparation. */
#define reel_tracepoint_enabled(provider, event)                  \
	REEL__UNLIKELY(__atomic_load_n(&reel__event_##provider##___##event.enabled, \
				       __ATOMIC_ACQUIRE))

/* Emit provider:event with the arguments of its REEL_EVENT declaration.
 * (An event without arguments is called as reel_tracepoint(p, e), which ISO
 * C before C23 flags under -pedantic; GCC and Clang accept it otherwise.) */
#define reel_tracepoint(provider, event, ...)                              \
	do {                                                               \
		REEL__STRICT_BEGIN                                         \
		if (reel_tracepoint_enabled(provider, event))              \
			reel__probe_##provider##___##event(__VA_ARGS__);   \
		REEL__STRICT_END                                           \
	} while (0)

#ifdef __cplusplus
}
#endif

#endif /* REEL_TRACEPOINT_H */
