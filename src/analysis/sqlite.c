/* SPDX-License-Identifier: MIT */
/*
 * `reel analyze ... --sqlite FILE` (doc/analysis.md, "SQLite"): the model
 * of a reduced partial as spans (threads, processes, syscalls of the I/O
 * log, fd intervals, phases), and the tables the reports print, written
 * to a SQLite database.
 *
 * Reads the partial through the reports' own internals (the stats of the
 * syscalls report, the I/O log's replay through the fd model in io.c, the
 * CPU report's rows in cpu.c, the phases' replay in phases.c): no number
 * is computed twice. The database is written to FILE.tmp-XXXXXX beside
 * FILE, in one transaction with prepared statements, and renamed over
 * FILE at the end: a failed run leaves no database behind.
 *
 * Owns the database's schema; calls src/analysis and libsqlite3 only.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "analysis/analysis-local.h"

/* Every table, created whatever the analysis; which are filled depends on
 * the map's flags (doc/analysis.md). */
static const char schema[] =
	"CREATE TABLE trace(analysis TEXT NOT NULL, paths TEXT NOT NULL, "
	"reel_version TEXT NOT NULL, chunks INTEGER NOT NULL, events INTEGER NOT NULL, "
	"lost_events INTEGER NOT NULL, uncertain INTEGER NOT NULL, begin_ns INTEGER, "
	"end_ns INTEGER, cpu_attribution INTEGER NOT NULL, cpu_usage REAL, "
	"phase_begin TEXT, phase_end TEXT, phase_by TEXT);\n"
	"CREATE TABLE chunk(idx INTEGER PRIMARY KEY, path TEXT NOT NULL);\n"
	"CREATE TABLE thread(tid INTEGER PRIMARY KEY, pid INTEGER, comm TEXT, "
	"first_seen_ns INTEGER, last_seen_ns INTEGER, soft_begin INTEGER NOT NULL, "
	"in_syscall_at_end INTEGER NOT NULL, uncertain INTEGER NOT NULL);\n"
	"CREATE TABLE process(pid INTEGER PRIMARY KEY, comm TEXT, "
	"threads INTEGER NOT NULL, first_seen_ns INTEGER, last_seen_ns INTEGER, "
	"uncertain INTEGER NOT NULL);\n"
	"CREATE TABLE syscall_stats(tid INTEGER NOT NULL, pid INTEGER, comm TEXT, "
	"syscall TEXT NOT NULL, count INTEGER NOT NULL, errors INTEGER NOT NULL, "
	"min_ns INTEGER NOT NULL, avg_ns REAL NOT NULL, max_ns INTEGER NOT NULL, "
	"sum_ns INTEGER NOT NULL, p50_ns INTEGER NOT NULL, p99_ns INTEGER NOT NULL, "
	"uncertain INTEGER NOT NULL, PRIMARY KEY(tid, syscall));\n"
	"CREATE TABLE syscall_errno(tid INTEGER NOT NULL, syscall TEXT NOT NULL, "
	"errno TEXT NOT NULL, ret INTEGER NOT NULL, count INTEGER NOT NULL, "
	"PRIMARY KEY(tid, syscall, ret));\n"
	"CREATE TABLE syscall(tid INTEGER NOT NULL, pid INTEGER NOT NULL, "
	"syscall TEXT NOT NULL, io TEXT, fd INTEGER, file TEXT, entry_ns INTEGER, "
	"exit_ns INTEGER, ret INTEGER, bytes INTEGER, uncertain INTEGER NOT NULL);\n"
	"CREATE TABLE fd(pid INTEGER NOT NULL, fd INTEGER NOT NULL, file TEXT NOT NULL, "
	"begin_ns INTEGER NOT NULL, end_ns INTEGER, soft_begin INTEGER NOT NULL, "
	"how TEXT NOT NULL, syscall TEXT, tid INTEGER, from_fd INTEGER, "
	"parent_pid INTEGER, end_how TEXT NOT NULL, end_syscall TEXT, end_tid INTEGER);\n"
	"CREATE TABLE io_thread(tid INTEGER PRIMARY KEY, pid INTEGER NOT NULL, "
	"comm TEXT, read INTEGER NOT NULL, write INTEGER NOT NULL);\n"
	"CREATE TABLE io_process(pid INTEGER PRIMARY KEY, comm TEXT, "
	"read INTEGER NOT NULL, write INTEGER NOT NULL);\n"
	"CREATE TABLE io_file(file TEXT, pid INTEGER NOT NULL, read INTEGER NOT NULL, "
	"write INTEGER NOT NULL);\n"
	"CREATE TABLE cpu_thread(tid INTEGER PRIMARY KEY, pid INTEGER NOT NULL, "
	"comm TEXT, cpu_ns INTEGER NOT NULL, usage REAL NOT NULL, "
	"wakeups INTEGER NOT NULL, wakeup_min_ns INTEGER, wakeup_max_ns INTEGER, "
	"wakeup_sum_ns INTEGER, wakeup_avg_ns REAL, wakeup_p99_ns INTEGER);\n"
	"CREATE TABLE cpu_process(pid INTEGER PRIMARY KEY, comm TEXT, "
	"cpu_ns INTEGER NOT NULL, usage REAL NOT NULL);\n"
	"CREATE TABLE cpu(cpu INTEGER PRIMARY KEY, busy_ns INTEGER NOT NULL, "
	"idle_ns INTEGER NOT NULL, usage REAL NOT NULL);\n"
	"CREATE TABLE phase(tid INTEGER NOT NULL, group_name TEXT NOT NULL, "
	"begin_ns INTEGER NOT NULL, end_ns INTEGER);\n"
	"CREATE TABLE phase_group(group_name TEXT PRIMARY KEY, phases INTEGER NOT NULL, "
	"open INTEGER NOT NULL, time_ns INTEGER NOT NULL);\n"
	"CREATE TABLE phase_syscall(group_name TEXT NOT NULL, syscall TEXT NOT NULL, "
	"count INTEGER NOT NULL, total_ns INTEGER NOT NULL, min_ns INTEGER NOT NULL, "
	"max_ns INTEGER NOT NULL, PRIMARY KEY(group_name, syscall));\n";

struct an_sqlite {
	char *path, *tmp;
	int fd;
	sqlite3 *db;
	char *err;
	size_t errlen;
};

static void set_err(struct an_sqlite *s, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(s->err, s->errlen, fmt, ap);
	va_end(ap);
}

struct an_sqlite *an_sqlite_open(const char *path, char *err, size_t errlen)
{
	/* the rename replaces what is at the path: a regular file only (as
	 * root, --sqlite /dev/null would replace the device); a symbolic
	 * link has its target replaced, and stays */
	struct stat st;
	char *real = NULL;
	if (lstat(path, &st) == 0 && S_ISLNK(st.st_mode) && !(real = realpath(path, NULL))) {
		snprintf(err, errlen, "%s: cannot follow the link: %s", path, strerror(errno));
		return NULL;
	}
	if (stat(real ? real : path, &st) == 0 && !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file (the database replaces FILE)", path);
		free(real);
		return NULL;
	}
	struct an_sqlite *s = calloc(1, sizeof(*s));
	if (real)
		path = real; /* freed below: s->path from here */
	bool ok = s && (s->path = strdup(path)) && asprintf(&s->tmp, "%s.tmp-XXXXXX", path) >= 0;
	free(real);
	if (!ok) {
		snprintf(err, errlen, "out of memory");
		if (s)
			s->tmp = NULL;
		an_sqlite_destroy(s);
		return NULL;
	}
	s->fd = mkstemp(s->tmp);
	if (s->fd < 0) {
		snprintf(err, errlen, "%s: cannot create the database: %s", s->path,
			 strerror(errno));
		free(s->tmp);
		s->tmp = NULL;
		an_sqlite_destroy(s);
		return NULL;
	}
	/* mkstemp's 0600: the mode a new file gets */
	mode_t um = umask(0);
	umask(um);
	if (fchmod(s->fd, 0666 & ~um)) {
		snprintf(err, errlen, "%s: %s", s->tmp, strerror(errno));
		an_sqlite_destroy(s);
		return NULL;
	}
	return s;
}

void an_sqlite_destroy(struct an_sqlite *s)
{
	if (!s)
		return;
	if (s->db)
		sqlite3_close(s->db);
	if (s->fd >= 0 && s->tmp)
		close(s->fd);
	if (s->tmp)
		unlink(s->tmp);
	free(s->tmp);
	free(s->path);
	free(s);
}

/* ---- statements ----------------------------------------------------------- */

static int fail(struct an_sqlite *s, const char *what)
{
	set_err(s, "%s: %s: %s", s->path, what, sqlite3_errmsg(s->db));
	return -EIO;
}

static sqlite3_stmt *prep(struct an_sqlite *s, const char *sql)
{
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) != SQLITE_OK) {
		fail(s, "preparing a statement");
		return NULL;
	}
	return st;
}

/* Bind values to the columns 1, 2, ...: 'i' int64, 'n' int64 or NULL when
 * negative, 'u' uint64, 'd' double, 's' text or NULL, 'b' bool. */
static int row(struct an_sqlite *s, sqlite3_stmt *st, const char *types, ...)
{
	va_list ap;
	va_start(ap, types);
	int rc = SQLITE_OK;
	for (int i = 1; *types && rc == SQLITE_OK; types++, i++) {
		switch (*types) {
		case 'i':
			rc = sqlite3_bind_int64(st, i, va_arg(ap, int64_t));
			break;
		case 'n': {
			int64_t v = va_arg(ap, int64_t);
			rc = v < 0 ? sqlite3_bind_null(st, i) : sqlite3_bind_int64(st, i, v);
			break;
		}
		case 'u':
			rc = sqlite3_bind_int64(st, i, (int64_t)va_arg(ap, uint64_t));
			break;
		case 'd':
			rc = sqlite3_bind_double(st, i, va_arg(ap, double));
			break;
		case 's': {
			const char *v = va_arg(ap, const char *);
			rc = v ? sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC)
			       : sqlite3_bind_null(st, i);
			break;
		}
		default:
			rc = sqlite3_bind_int(st, i, va_arg(ap, int));
			break;
		}
	}
	va_end(ap);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st) == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR;
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc == SQLITE_OK ? 0 : fail(s, "inserting a row");
}

static int exec(struct an_sqlite *s, const char *sql)
{
	return sqlite3_exec(s->db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : fail(s, "writing");
}

/* ---- the model's threads and the syscalls report -------------------------- */

static int put_threads(struct an_sqlite *s, const struct an_partial *p)
{
	sqlite3_stmt *th = prep(s, "INSERT INTO thread VALUES(?,?,?,?,NULL,?,?,?)");
	sqlite3_stmt *st = prep(s, "INSERT INTO syscall_stats VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?)");
	sqlite3_stmt *er = prep(s, "INSERT INTO syscall_errno VALUES(?,?,?,?,?)");
	int r = th && st && er ? 0 : -EIO;
	for (uint32_t i = 0; !r && i < p->threads.n; i++) {
		const struct an_thread *t = an_tab_at(&p->threads, i);
		r = row(s, th, "insnbbb", t->tid, t->pid_set ? t->pid : (int64_t)-1,
			t->comm_set ? t->comm : NULL,
			t->state != AN_UNTOUCHED ? t->first_ts : (int64_t)-1, (int)t->has_head,
			(int)(t->state == AN_OPEN), (int)(t->uncertain || p->lost));
	}
	char eb[32];
	for (uint32_t i = 0; !r && i < p->stats.n; i++) {
		const struct an_stat *x = an_tab_at(&p->stats, i);
		const struct an_thread *t = an_tab_find(&p->threads, (uint64_t)x->tid);
		const struct an_snap *sn = t ? &t->first_emit : NULL;
		const char *name = an_names_get(p->names, x->name);
		r = row(s, st, "inssuuidiiuub", x->tid, sn && sn->pid_known ? sn->pid : (int64_t)-1,
			sn && sn->comm_known ? sn->comm : "", name, x->count, x->errors, x->min,
			(double)x->sum / (double)x->count, x->max, x->sum,
			an_hist_quantile(&x->hist, x->count, 0.5, (uint64_t)x->min,
					 (uint64_t)x->max),
			an_hist_quantile(&x->hist, x->count, 0.99, (uint64_t)x->min,
					 (uint64_t)x->max),
			(int)((t && t->uncertain) || p->lost));
		for (uint32_t e = 0; !r && e < x->nerrs; e++)
			r = row(s, er, "issiu", x->tid, name,
				an_errno_name(x->errs[e].ret, eb, sizeof(eb)), x->errs[e].ret,
				x->errs[e].count);
	}
	sqlite3_finalize(th);
	sqlite3_finalize(st);
	sqlite3_finalize(er);
	return r;
}

/* ---- the I/O log: syscalls, fd intervals, bytes ---------------------------- */

struct io_ctx {
	struct an_sqlite *s;
	const struct an_partial *p;
	sqlite3_stmt *sys, *th, *pr, *file, *fd;
	struct an_tab last; /* tid -> its last syscall event's time (int64) */
};

static const char *io_name(uint8_t io)
{
	static const char *const n[] = {
		[AN_IO_READ] = "read",	 [AN_IO_WRITE] = "write",    [AN_IO_OPEN] = "open",
		[AN_IO_CLOSE] = "close", [AN_IO_DUP] = "dup",	     [AN_IO_DUP2] = "dup",
		[AN_IO_FCNTL] = "dup",	 [AN_IO_RW2] = "read_write",
	};
	return io < sizeof(n) / sizeof(n[0]) ? n[io] : NULL;
}

static int io_sys(void *arg, const struct an_io_sys *x)
{
	struct io_ctx *c = arg;
	const struct an_thread *t = an_tab_find(&c->p->threads, (uint64_t)x->tid);
	int unc = (t && t->uncertain) || c->p->lost;
	bool fresh;
	int64_t *last = an_tab_get(&c->last, (uint64_t)x->tid, &fresh),
		ts = x->exit_ts >= 0 ? x->exit_ts : x->entry_ts;
	if (!last) {
		set_err(c->s, "out of memory");
		return -ENOMEM;
	}
	if (fresh || ts > *last)
		*last = ts;
	/* ret: any value with an exit, NULL without */
	return row(c->s, c->sys, x->exit_ts >= 0 ? "iissnsnninb" : "iissnsnnnnb", x->tid, x->pid,
		   an_names_get(c->p->names, x->name), io_name(x->io), x->fd, x->file, x->entry_ts,
		   x->exit_ts, x->exit_ts >= 0 ? x->ret : (int64_t)-1, x->bytes, unc);
}

static int io_thread(void *arg, int64_t tid, int64_t pid, const char *comm, uint64_t rd,
		     uint64_t wr)
{
	struct io_ctx *c = arg;
	return row(c->s, c->th, "iisuu", tid, pid, comm, rd, wr);
}

static int io_process(void *arg, int64_t pid, const char *comm, uint64_t rd, uint64_t wr)
{
	struct io_ctx *c = arg;
	return row(c->s, c->pr, "isuu", pid, comm, rd, wr);
}

static int io_file(void *arg, const char *file, int64_t pid, uint64_t rd, uint64_t wr)
{
	struct io_ctx *c = arg;
	return row(c->s, c->file, "siuu", file, pid, rd, wr);
}

static int io_fd(void *arg, const struct an_io_fd *f)
{
	struct io_ctx *c = arg;
	bool fork = !strcmp(f->how, "fork");
	return row(c->s, c->fd, "iisinbssnnnssn", f->pid, f->fd, f->file, f->begin, f->end,
		   (int)!strcmp(f->how, "statedump"), f->how, f->syscall, f->tid,
		   fork ? (int64_t)-1 : f->from, fork ? f->from : (int64_t)-1, f->end_how,
		   f->end_syscall, f->end_tid);
}

static int put_io(struct an_sqlite *s, const struct an_partial *p)
{
	struct io_ctx c = {
		.s = s,
		.p = p,
		.sys = prep(s, "INSERT INTO syscall VALUES(?,?,?,?,?,?,?,?,?,?,?)"),
		.th = prep(s, "INSERT INTO io_thread VALUES(?,?,?,?,?)"),
		.pr = prep(s, "INSERT INTO io_process VALUES(?,?,?,?)"),
		.file = prep(s, "INSERT INTO io_file VALUES(?,?,?,?)"),
		.fd = prep(s, "INSERT INTO fd VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?)"),
	};
	an_tab_init(&c.last, sizeof(int64_t));
	const struct an_io_sink sink = {.ctx = &c,
					.syscall = io_sys,
					.thread = io_thread,
					.process = io_process,
					.file = io_file,
					.fd = io_fd};
	int r = c.sys && c.th && c.pr && c.file && c.fd ? an_io_export(p, &sink) : -EIO;
	if (r == -ENOMEM)
		set_err(s, "out of memory");
	sqlite3_finalize(c.sys);
	sqlite3_finalize(c.th);
	sqlite3_finalize(c.pr);
	sqlite3_finalize(c.file);
	sqlite3_finalize(c.fd);
	/* a thread's last syscall event in the log (kept while inserting: a
	 * query over the syscall table per thread would be quadratic) */
	sqlite3_stmt *up = r ? NULL : prep(s, "UPDATE thread SET last_seen_ns = ? WHERE tid = ?");
	if (!r && !up)
		r = -EIO;
	for (uint32_t i = 0; !r && i < c.last.n; i++)
		r = row(s, up, "ii", *(int64_t *)an_tab_at(&c.last, i), (int64_t)c.last.keys[i]);
	sqlite3_finalize(up);
	an_tab_free(&c.last);
	return r;
}

/* ---- CPU ------------------------------------------------------------------ */

static int put_cpu(struct an_sqlite *s, const struct an_partial *p, double *ret_usage)
{
	struct an_cpu_rows t;
	int r = an_cpu_rows(p, &t);
	if (r) {
		an_cpu_rows_free(&t);
		set_err(s, "out of memory");
		return r;
	}
	sqlite3_stmt *th = prep(s, "INSERT INTO cpu_thread VALUES(?,?,?,?,?,?,?,?,?,?,?)");
	sqlite3_stmt *pr = prep(s, "INSERT INTO cpu_process VALUES(?,?,?,?)");
	sqlite3_stmt *cp = prep(s, "INSERT INTO cpu VALUES(?,?,?,?)");
	r = th && pr && cp ? 0 : -EIO;
	for (size_t i = 0; !r && i < t.n; i++) {
		const struct an_cpu_row *x = &t.th[i];
		if (x->wcount)
			r = row(s, th, "iisidiiiidu", x->tid, x->pid, x->comm, x->ns,
				an_cpu_pct(x->ns, t.dur), (int64_t)x->wcount, x->wmin, x->wmax,
				x->wsum, (double)x->wsum / (double)x->wcount, x->p99);
		else
			r = row(s, th, "iisidi", x->tid, x->pid, x->comm, x->ns,
				an_cpu_pct(x->ns, t.dur), (int64_t)0);
	}
	for (size_t i = 0; !r && i < t.npr; i++)
		r = row(s, pr, "isid", t.pr[i].pid, t.pr[i].comm, t.pr[i].ns,
			an_cpu_pct(t.pr[i].ns, t.dur));
	for (size_t i = 0; !r && i < t.nc; i++)
		r = row(s, cp, "iiid", t.cp[i].tid, t.cp[i].ns, t.dur - t.cp[i].ns,
			an_cpu_pct(t.cp[i].ns, t.dur));
	*ret_usage = t.total;
	sqlite3_finalize(th);
	sqlite3_finalize(pr);
	sqlite3_finalize(cp);
	an_cpu_rows_free(&t);
	return r;
}

/* ---- phases ------------------------------------------------------------- */

struct ph_ctx {
	struct an_sqlite *s;
	sqlite3_stmt *st;
};

static int ph_span(void *arg, int64_t tid, const char *group, int64_t begin, int64_t end)
{
	struct ph_ctx *c = arg;
	return row(c->s, c->st, "isin", tid, group, begin, end);
}

static int put_phases(struct an_sqlite *s, const struct an_partial *p)
{
	struct ph_ctx c = {.s = s, .st = prep(s, "INSERT INTO phase VALUES(?,?,?,?)")};
	sqlite3_stmt *g = prep(s, "INSERT INTO phase_group VALUES(?,?,?,?)");
	sqlite3_stmt *sy = prep(s, "INSERT INTO phase_syscall VALUES(?,?,?,?,?,?)");
	struct an_phases ph = {0};
	const struct an_phase_sink sink = {.ctx = &c, .phase = ph_span};
	int r = c.st && g && sy ? an_phases_run(p, &sink, &ph) : -EIO;
	if (r == -ENOMEM)
		set_err(s, "out of memory");
	for (uint32_t i = 0; !r && i < ph.n; i++) {
		const struct an_phase_group *pg = &ph.g[i];
		const char *gn = an_names_get(ph.groups, i);
		r = row(s, g, "suui", gn, pg->phases, pg->open, pg->time);
		for (uint32_t k = 0; !r && k < pg->sys.n; k++) {
			const struct an_phase_sys *x = &pg->sys.v[k];
			r = row(s, sy, "ssuiii", gn, an_names_get(p->names, x->name), x->count,
				x->sum, x->min, x->max);
		}
	}
	an_phases_free(&ph);
	sqlite3_finalize(c.st);
	sqlite3_finalize(g);
	sqlite3_finalize(sy);
	return r;
}

/* ---- the whole ------------------------------------------------------------ */

/* The TRACE arguments as a JSON array of strings. */
static char *paths_json(char *const *v, size_t n)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		return NULL;
	fputc('[', f);
	for (size_t i = 0; i < n; i++) {
		fputs(i ? ",\"" : "\"", f);
		for (const char *c = v[i]; *c; c++) {
			if (*c == '"' || *c == '\\')
				fprintf(f, "\\%c", *c);
			else if ((unsigned char)*c < 0x20)
				fprintf(f, "\\u%04x", (unsigned char)*c);
			else
				fputc(*c, f);
		}
		fputc('"', f);
	}
	fputc(']', f);
	if (fclose(f)) {
		free(buf);
		return NULL;
	}
	return buf;
}

static int put_trace(struct an_sqlite *s, const struct an_partial *p,
		     const struct an_sqlite_meta *m, double usage)
{
	char *paths = paths_json(m->paths, m->npaths);
	if (!paths) {
		set_err(s, "out of memory");
		return -ENOMEM;
	}
	bool uncertain = p->lost > 0;
	for (uint32_t i = 0; i < p->threads.n; i++)
		uncertain |= ((const struct an_thread *)an_tab_at(&p->threads, i))->uncertain;
	sqlite3_stmt *st = prep(s, "INSERT INTO trace VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
	sqlite3_stmt *ch = prep(s, "INSERT INTO chunk VALUES(?,?)");
	int r = st && ch ? 0 : -EIO;
	/* cpu_usage: the CPU analysis's, else NULL */
	if (!r)
		r = row(s, st, "sssuuubnnbssss", m->analysis, paths, m->version, p->chunks,
			p->events, p->lost, (int)uncertain,
			p->has_range ? p->first_ts : (int64_t)-1,
			p->has_range ? p->last_ts : (int64_t)-1,
			(int)!!(p->flags & AN_CPU_ATTRIBUTION), NULL, an_names_phase(p->names, 0),
			an_names_phase(p->names, 1), an_names_phase(p->names, 2));
	if (!r && (p->flags & AN_CPU)) {
		sqlite3_stmt *up = prep(s, "UPDATE trace SET cpu_usage = ?");
		r = up ? row(s, up, "d", usage) : -EIO;
		sqlite3_finalize(up);
	}
	for (size_t i = 0; !r && i < m->nchunks; i++)
		r = row(s, ch, "is", (int64_t)i, m->chunks[i]);
	sqlite3_finalize(st);
	sqlite3_finalize(ch);
	free(paths);
	return r;
}

int an_sqlite_write(struct an_sqlite *s, const struct an_partial *p, const struct an_sqlite_meta *m,
		    char *err, size_t errlen)
{
	s->err = err;
	s->errlen = errlen;
	err[0] = 0;
	if (sqlite3_open_v2(s->tmp, &s->db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK)
		return fail(s, "opening");
	/* a private file renamed at the end: no journal needed */
	int r = exec(s, "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; BEGIN");
	r = r ? r : exec(s, schema);
	r = r ? r : put_threads(s, p);
	if (!r && (p->flags & AN_IO))
		r = put_io(s, p);
	double usage = 0;
	if (!r && (p->flags & AN_CPU))
		r = put_cpu(s, p, &usage);
	if (!r && (p->flags & AN_PHASES))
		r = put_phases(s, p);
	/* processes: their threads (a thread of unknown pid is its own) */
	r = r ? r
	      : exec(s, "INSERT INTO process SELECT coalesce(t.pid, t.tid),"
			" (SELECT comm FROM thread WHERE tid = coalesce(t.pid, t.tid)), count(*),"
			" min(first_seen_ns), max(last_seen_ns), max(uncertain)"
			" FROM thread t GROUP BY coalesce(t.pid, t.tid)");
	r = r ? r : put_trace(s, p, m, usage);
	r = r ? r : exec(s, "COMMIT");
	if (!r && sqlite3_close(s->db) != SQLITE_OK)
		r = fail(s, "closing");
	else if (!r)
		s->db = NULL;
	if (r)
		return r;
	int fr = fsync(s->fd), cr = close(s->fd);
	s->fd = -1;
	if (fr || cr) {
		set_err(s, "%s: %s", s->tmp, strerror(errno));
		return -EIO;
	}
	if (rename(s->tmp, s->path)) {
		set_err(s, "%s: cannot rename %s: %s", s->path, s->tmp, strerror(errno));
		return -EIO;
	}
	free(s->tmp);
	s->tmp = NULL;
	return 0;
}
