/*
 * ckpt.c - checkpoints for a bit-exact resume (see ckpt.h for the layout).
 *
 * Writing: the whole file is made as "<final>.tmp" in the checkpoint
 * directory, closed, fsync'd and renamed over its final name; the directory
 * is fsync'd so the rename survives a crash, and only then are old
 * checkpoints pruned. Any failure before the rename unlinks the .tmp.
 *
 * The HDF5 plumbing is h5io's: attributes, matrices transposed so that
 * h5py sees M[r][c] = M(r, c), doubles as IEEE little-endian 64-bit (every
 * value, NaN payloads and signed zeros included, comes back bit for bit),
 * HDF5's error printing off during each public call, the fsync'd rename.
 * This file holds the layout, the checks and the messages. It deliberately
 * does not gather state across ranks, decide when to checkpoint, parse the
 * configuration, compress, or judge the values it is given.
 */
#include "ckpt.h"
#include "errmsg.h"
#include "h5io.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CKPT_WIDTH_MAX 46340    /* width * width stays below INT_MAX */
#define CKPT_NODES_MAX 65536    /* sanity bound against a corrupt file */

/* Which file a message names, and where it goes. */
typedef struct {
    const char *file;
    char *err;
    size_t errlen;
} CkptCtx;

/* An open HDF5 group and its name for messages. */
typedef struct {
    hid_t id;
    const char *name;
} CkptGroup;

/* err = "<file>: <formatted text>"; returns -1. */
__attribute__((format(printf, 2, 3)))
static int ckpt_fail(const CkptCtx *cx, const char *fmt, ...)
{
    char what[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return err_set(cx->err, cx->errlen, "%s: %s", cx->file, what);
}

/* ---- writing ----------------------------------------------------------- */

/* "<dir>/ckpt-<iteration>.h5", malloc'd; NULL on no memory. */
static char *ckpt_name(const char *dir, int iteration)
{
    const char *fmt = "%s/ckpt-%08d.h5";
    int n = snprintf(NULL, 0, fmt, dir, iteration);
    char *name = n < 0 ? NULL : malloc((size_t)n + 1);

    if (name != NULL)
        snprintf(name, (size_t)n + 1, fmt, dir, iteration);
    return name;
}

/* Every root attribute. */
static int ckpt_put_root(hid_t file, const CkptState *s, const CkptCtx *cx)
{
    const char *names[] = { "format_version", "nodes", "width", "batch",
                            "iteration" };
    const int values[] = { CKPT_FORMAT_VERSION, s->nodes, s->width,
                           s->batch, s->iteration };
    int rc = 0;

    for (int i = 0; i < 5 && rc == 0; i++)
        rc = h5io_put_int(file, names[i], values[i]);
    if (rc == 0)
        rc = h5io_put_u64(file, "seed", s->seed);
    if (rc == 0)
        rc = h5io_put_ints(file, "rng_batch", s->rng_batch, 4);
    if (rc == 0)
        rc = h5io_put_ints(file, "rng_sched", s->rng_sched, 4);
    if (rc == 0)
        rc = h5io_put_str(file, "config", s->config);
    if (rc == 0)
        rc = h5io_put_str(file, "fingerprint", s->fingerprint);
    return rc < 0 ? ckpt_fail(cx, "cannot write the root attributes") : 0;
}

/* /weights/A<l> for every node. */
static int ckpt_put_weights(hid_t file, const CkptState *s, double *scratch,
                            const CkptCtx *cx)
{
    hid_t g = h5io_create_group(file, "weights");
    char name[32];
    int rc = 0;

    if (g < 0)
        return ckpt_fail(cx, "cannot create group /weights");
    for (int l = 0; l < s->nodes && rc == 0; l++) {
        snprintf(name, sizeof name, "A%d", l);
        rc = h5io_put_matrix(g, name, s->A[l], s->width, s->width, scratch);
        if (rc < 0)
            ckpt_fail(cx, "cannot write /weights/%s", name);
    }
    if (H5Gclose(g) < 0 && rc == 0)
        rc = ckpt_fail(cx, "cannot close group /weights");
    return rc;
}

/* A_prev<l>, and B<l> and Yprev<l> where present, into group g. */
static int ckpt_put_node(hid_t g, const CkptState *s, int l,
                         double *scratch, const CkptCtx *cx)
{
    int n = s->width, rc;
    char name[32];

    snprintf(name, sizeof name, "A_prev%d", l);
    rc = h5io_put_matrix(g, name, s->A_prev[l], n, n, scratch);
    if (rc == 0 && s->B[l] != NULL) {
        snprintf(name, sizeof name, "B%d", l);
        rc = h5io_put_matrix(g, name, s->B[l], n, n, scratch);
    }
    if (rc == 0 && s->Yprev[l] != NULL) {
        snprintf(name, sizeof name, "Yprev%d", l);
        rc = h5io_put_matrix(g, name, s->Yprev[l], n, s->batch, scratch);
    }
    return rc < 0 ? ckpt_fail(cx, "cannot write /state/%s", name) : 0;
}

/* Group /state: the per-node arrays, have_yprev and perm. */
static int ckpt_put_state(hid_t file, const CkptState *s, double *scratch,
                          const CkptCtx *cx)
{
    hid_t g = h5io_create_group(file, "state");
    hsize_t nodes = (hsize_t)s->nodes, len = (hsize_t)s->perm_len;
    static const int none = 0;
    int rc = 0;

    if (g < 0)
        return ckpt_fail(cx, "cannot create group /state");
    for (int l = 0; l < s->nodes && rc == 0; l++)
        rc = ckpt_put_node(g, s, l, scratch, cx);
    if (rc == 0 && h5io_put_dset(g, "have_yprev", H5T_STD_I32LE,
                                 H5T_NATIVE_INT, 1, &nodes,
                                 s->have_yprev) < 0)
        rc = ckpt_fail(cx, "cannot write /state/have_yprev");
    if (rc == 0 && h5io_put_dset(g, "perm", H5T_STD_I32LE, H5T_NATIVE_INT,
                                 1, &len, len > 0 ? s->perm : &none) < 0)
        rc = ckpt_fail(cx, "cannot write /state/perm");
    if (H5Gclose(g) < 0 && rc == 0)
        rc = ckpt_fail(cx, "cannot close group /state");
    return rc;
}

/* A test hook for the failure path: with NLPC_TEST_KILL_IN_CKPT set to
 * this checkpoint's iteration, the process kills itself half way through
 * the write, as kill -9 or a node failure would, leaving a partial .tmp.
 * Off when the variable is unset. */
static void ckpt_test_kill(hid_t file, int iteration)
{
    const char *v = getenv("NLPC_TEST_KILL_IN_CKPT");

    if (v == NULL || atoi(v) != iteration)
        return;
    H5Fflush(file, H5F_SCOPE_GLOBAL);
    raise(SIGKILL);
}

/* Create cx->file and fill it; 0 only if it was also closed cleanly. */
static int ckpt_put_file(const CkptState *s, const CkptCtx *cx)
{
    int big = s->width > s->batch ? s->width : s->batch;
    double *scratch = malloc((size_t)s->width * big * sizeof *scratch);
    const char *why = "";
    hid_t file;
    int rc;

    if (scratch == NULL)
        return ckpt_fail(cx, "out of memory");
    file = h5io_create(cx->file, &why);
    if (file < 0) {
        free(scratch);
        return ckpt_fail(cx, "cannot create (%s)", why);
    }
    rc = ckpt_put_root(file, s, cx);
    if (rc == 0)
        rc = ckpt_put_weights(file, s, scratch, cx);
    ckpt_test_kill(file, s->iteration);
    if (rc == 0)
        rc = ckpt_put_state(file, s, scratch, cx);
    if (H5Fclose(file) < 0 && rc == 0)
        rc = ckpt_fail(cx, "cannot close (disk full?)");
    free(scratch);
    return rc;
}

/* Make the complete tmp durable and give it its final name. */
static int ckpt_publish(const char *tmp, const char *final, const char *dir,
                        const CkptCtx *cx)
{
    switch (h5io_publish(tmp, final, dir)) {
    case H5IO_OK:
        return 0;
    case H5IO_SYNC:
        return ckpt_fail(cx, "cannot fsync: %s", strerror(errno));
    case H5IO_RENAME:
        return ckpt_fail(cx, "cannot rename to %s: %s", final,
                         strerror(errno));
    default:
        return err_set(cx->err, cx->errlen, "%s: written, but cannot fsync "
                       "directory %s: %s", final, dir, strerror(errno));
    }
}

/* Delete checkpoints in dir, oldest first, until `keep` remain counting
 * `final`, which is never deleted. */
static int ckpt_prune(const char *dir, int keep, const char *final,
                      const CkptCtx *cx)
{
    char **paths = NULL;
    int n = ckpt_list(dir, &paths), kept = 1, rc = 0;

    if (n < 0)
        return err_set(cx->err, cx->errlen, "%s: written, but cannot list "
                       "%s to prune it", final, dir);
    for (int i = 0; i < n; i++) {
        if (strcmp(paths[i], final) == 0)
            ;   /* the new checkpoint always stays */
        else if (kept < keep)
            kept++;
        else if (unlink(paths[i]) != 0 && errno != ENOENT && rc == 0)
            rc = err_set(cx->err, cx->errlen, "%s: written, but cannot "
                         "remove %s: %s", final, paths[i], strerror(errno));
        free(paths[i]);
    }
    free(paths);
    return rc;
}

/* The shape and pointers of a state about to be written. */
static int ckpt_valid(const CkptState *s, int keep, const CkptCtx *cx)
{
    if (keep < 1)
        return ckpt_fail(cx, "keep must be at least 1, not %d", keep);
    if (s->nodes < 1 || s->nodes > CKPT_NODES_MAX || s->width < 1
        || s->width > CKPT_WIDTH_MAX || s->batch < 1 || s->iteration < 0
        || s->perm_len < 0)
        return ckpt_fail(cx, "bad state shape nodes=%d width=%d batch=%d "
                         "iteration=%d perm_len=%d", s->nodes, s->width,
                         s->batch, s->iteration, s->perm_len);
    if (s->A == NULL || s->A_prev == NULL || s->B == NULL
        || s->Yprev == NULL || s->have_yprev == NULL || s->config == NULL
        || s->fingerprint == NULL || (s->perm == NULL && s->perm_len > 0))
        return ckpt_fail(cx, "incomplete state (an array is NULL)");
    for (int l = 0; l < s->nodes; l++) {
        if (s->A[l] == NULL || s->A_prev[l] == NULL)
            return ckpt_fail(cx, "node %d has no A or A_prev", l);
        if (s->have_yprev[l] && s->Yprev[l] == NULL)
            return ckpt_fail(cx, "node %d: have_yprev set, Yprev NULL", l);
    }
    return 0;
}

/* 0 if dir is an existing directory. */
static int ckpt_is_dir(const char *dir, const CkptCtx *cx)
{
    struct stat st;

    if (stat(dir, &st) != 0)
        return ckpt_fail(cx, "%s", strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return ckpt_fail(cx, "not a directory");
    return 0;
}

int ckpt_write(const char *dir, int keep, const CkptState *s, char *err,
               size_t errlen)
{
    CkptCtx cx = { dir, err, errlen };
    H5ioQuiet mute;
    char *final, *tmp;
    int rc = -1;

    if (ckpt_valid(s, keep, &cx) < 0 || ckpt_is_dir(dir, &cx) < 0)
        return -1;
    final = ckpt_name(dir, s->iteration);
    tmp = final != NULL ? h5io_tmp_name(final) : NULL;
    if (final == NULL || tmp == NULL) {
        ckpt_fail(&cx, "out of memory");
    } else {
        cx.file = tmp;
        h5io_mute(&mute);
        rc = ckpt_put_file(s, &cx);
        h5io_unmute(&mute);
        if (rc == 0)
            rc = ckpt_publish(tmp, final, dir, &cx);
        if (rc != 0)
            (void)unlink(tmp);
        else
            rc = ckpt_prune(dir, keep, final, &cx);
    }
    free(final);
    free(tmp);
    return rc;
}

/* ---- listing ----------------------------------------------------------- */

typedef struct {
    long iteration;
    char *path;
} CkptEntry;

typedef struct {
    CkptEntry *v;
    int n, cap;
} CkptEntries;

/* The iteration in "ckpt-<digits>.h5", or -1 for any other name. */
static long ckpt_name_iteration(const char *name)
{
    const char *p = name + 5;
    long it = 0;

    if (strncmp(name, "ckpt-", 5) != 0 || !isdigit((unsigned char)*p))
        return -1;
    for (; isdigit((unsigned char)*p); p++) {
        if (it > (LONG_MAX - 9) / 10)
            return -1;
        it = it * 10 + (*p - '0');
    }
    return strcmp(p, ".h5") == 0 ? it : -1;
}

/* Append "<dir>/<name>" if it is a regular file; -1 on no memory. */
static int ckpt_entries_add(CkptEntries *e, const char *dir,
                            const char *name, long iteration)
{
    size_t len = strlen(dir) + strlen(name) + 2;
    char *path = malloc(len);
    struct stat st;

    if (path == NULL)
        return -1;
    snprintf(path, len, "%s/%s", dir, name);
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
        free(path);
        return 0;
    }
    if (e->n == e->cap) {
        int cap = e->cap > 0 ? 2 * e->cap : 8;
        CkptEntry *v = realloc(e->v, (size_t)cap * sizeof *v);

        if (v == NULL) {
            free(path);
            return -1;
        }
        e->v = v;
        e->cap = cap;
    }
    e->v[e->n].iteration = iteration;
    e->v[e->n++].path = path;
    return 0;
}

/* Every checkpoint in the open directory d into e; -1 on an error. */
static int ckpt_entries_scan(DIR *d, const char *dir, CkptEntries *e)
{
    struct dirent *ent;
    long it;

    for (;;) {
        errno = 0;
        ent = readdir(d);
        if (ent == NULL)
            return errno != 0 ? -1 : 0;
        it = ckpt_name_iteration(ent->d_name);
        if (it >= 0 && ckpt_entries_add(e, dir, ent->d_name, it) < 0)
            return -1;
    }
}

/* qsort order: higher iteration first, ties by name, descending. */
static int ckpt_newer_first(const void *pa, const void *pb)
{
    const CkptEntry *a = pa, *b = pb;

    if (a->iteration != b->iteration)
        return a->iteration < b->iteration ? 1 : -1;
    return strcmp(b->path, a->path);
}

int ckpt_list(const char *dir, char ***paths)
{
    CkptEntries e = { NULL, 0, 0 };
    DIR *d = opendir(dir);
    char **out = NULL;
    int rc;

    *paths = NULL;
    if (d == NULL)
        return 0;
    rc = ckpt_entries_scan(d, dir, &e);
    closedir(d);
    if (rc == 0 && e.n > 0 && (out = malloc(e.n * sizeof *out)) == NULL)
        rc = -1;
    if (rc == 0 && e.n > 0)
        qsort(e.v, (size_t)e.n, sizeof *e.v, ckpt_newer_first);
    for (int i = 0; i < e.n; i++) {
        if (rc == 0)
            out[i] = e.v[i].path;
        else
            free(e.v[i].path);
    }
    free(e.v);
    if (rc < 0)
        return -1;
    *paths = out;
    return e.n;
}

int ckpt_remove_partial(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *ent;
    char path[PATH_MAX];
    int removed = 0;

    if (d == NULL)
        return 0;
    while ((ent = readdir(d)) != NULL) {
        size_t len = strlen(ent->d_name);

        /* "ckpt-<digits>.h5.tmp": a partial file under the final name */
        if (len < 8 || strcmp(ent->d_name + len - 4, ".tmp") != 0)
            continue;
        ent->d_name[len - 4] = '\0';
        if (ckpt_name_iteration(ent->d_name) < 0)
            continue;
        snprintf(path, sizeof path, "%s/%s.tmp", dir, ent->d_name);
        removed += unlink(path) == 0;
    }
    closedir(d);
    return removed;
}

/* ---- reading ----------------------------------------------------------- */

/* The root attributes into s; the version is checked first. */
static int ckpt_get_root(hid_t file, CkptState *s, const CkptCtx *cx)
{
    int version;
    uint64_t seed;

    if (h5io_get_int(file, "format_version", &version) < 0)
        return ckpt_fail(cx, "no format_version attribute "
                         "(not a checkpoint)");
    if (version != CKPT_FORMAT_VERSION)
        return ckpt_fail(cx, "format_version %d, this program reads %d",
                         version, CKPT_FORMAT_VERSION);
    if (h5io_get_int(file, "nodes", &s->nodes) < 0
        || h5io_get_int(file, "width", &s->width) < 0
        || h5io_get_int(file, "batch", &s->batch) < 0
        || h5io_get_int(file, "iteration", &s->iteration) < 0)
        return ckpt_fail(cx, "missing nodes, width, batch or iteration");
    if (h5io_get_u64(file, "seed", &seed) < 0
        || (unsigned long)seed != seed
        || h5io_get_ints(file, "rng_batch", s->rng_batch, 4) < 0
        || h5io_get_ints(file, "rng_sched", s->rng_sched, 4) < 0)
        return ckpt_fail(cx, "missing or bad seed, rng_batch or rng_sched");
    s->seed = (unsigned long)seed;
    if (h5io_get_str(file, "config", &s->config) < 0
        || h5io_get_str(file, "fingerprint", &s->fingerprint) < 0)
        return ckpt_fail(cx, "missing or bad config or fingerprint");
    if (s->nodes < 1 || s->nodes > CKPT_NODES_MAX || s->width < 1
        || s->width > CKPT_WIDTH_MAX || s->batch < 1 || s->iteration < 0)
        return ckpt_fail(cx, "bad shape nodes=%d width=%d batch=%d "
                         "iteration=%d", s->nodes, s->width, s->batch,
                         s->iteration);
    return 0;
}

/* The message for g/name not having the shape the attributes give. */
static int ckpt_bad_shape(const CkptGroup *g, const char *name, int rank,
                          const hsize_t *dims, const CkptCtx *cx)
{
    unsigned long long rows = dims[0], cols = rank == 2 ? dims[1] : 0;

    if (rank == 2)
        return ckpt_fail(cx, "/%s/%s is not %llu x %llu as the attributes "
                         "say", g->name, name, rows, cols);
    if (rows > 0)
        return ckpt_fail(cx, "/%s/%s is not a list of %llu as the "
                         "attributes say", g->name, name, rows);
    return ckpt_fail(cx, "/%s/%s is not a 1-d list", g->name, name);
}

/* The message for g/name failing with st; dims are the extents the
 * attributes give. */
static int ckpt_dset_fail(const CkptGroup *g, const char *name,
                          H5ioStatus st, int rank, const hsize_t *dims,
                          const CkptCtx *cx)
{
    switch (st) {
    case H5IO_NOMEM:
        return ckpt_fail(cx, "out of memory");
    case H5IO_MISSING:
        return ckpt_fail(cx, "no data set /%s/%s", g->name, name);
    case H5IO_SHAPE:
        return ckpt_bad_shape(g, name, rank, dims, cx);
    default:
        return ckpt_fail(cx, "cannot read /%s/%s", g->name, name);
    }
}

/* Read g/name, which must have `rank` extents dims, into buf as mtype. */
static int ckpt_get_dset(const CkptGroup *g, const char *name, hid_t mtype,
                         int rank, hsize_t *dims, void *buf,
                         const CkptCtx *cx)
{
    H5ioStatus st = h5io_get_dset(g->id, name, mtype, rank, dims, buf);

    return st == H5IO_OK ? 0 : ckpt_dset_fail(g, name, st, rank, dims, cx);
}

/* g/name, rows x cols on disk, into a fresh column-major *out. */
static int ckpt_get_matrix(const CkptGroup *g, const char *name, int rows,
                           int cols, double **out, const CkptCtx *cx)
{
    hsize_t dims[2] = { (hsize_t)rows, (hsize_t)cols };
    H5ioStatus st = h5io_get_matrix(g->id, name, rows, cols, out);

    return st == H5IO_OK ? 0 : ckpt_dset_fail(g, name, st, 2, dims, cx);
}

/* As ckpt_get_matrix, but a missing g/name leaves *out NULL. */
static int ckpt_get_optional(const CkptGroup *g, const char *name, int rows,
                             int cols, double **out, const CkptCtx *cx)
{
    htri_t there = H5Lexists(g->id, name, H5P_DEFAULT);

    if (there < 0)
        return ckpt_fail(cx, "cannot look up /%s/%s", g->name, name);
    if (there == 0)
        return 0;
    return ckpt_get_matrix(g, name, rows, cols, out, cx);
}

/* Open group `name` of file into g. */
static int ckpt_open_group(hid_t file, const char *name, CkptGroup *g,
                           const CkptCtx *cx)
{
    g->name = name;
    g->id = h5io_open_group(file, name);
    if (g->id < 0)
        return ckpt_fail(cx, "no group /%s", name);
    return 0;
}

static int ckpt_close_group(const CkptGroup *g, int rc, const CkptCtx *cx)
{
    if (g->id >= 0 && H5Gclose(g->id) < 0 && rc == 0)
        return ckpt_fail(cx, "cannot close group /%s", g->name);
    return rc;
}

/* /weights/A<l> for every node into s->A. */
static int ckpt_get_weights(hid_t file, CkptState *s, const CkptCtx *cx)
{
    CkptGroup g;
    char name[32];
    int rc;

    rc = ckpt_open_group(file, "weights", &g, cx);
    for (int l = 0; l < s->nodes && rc == 0; l++) {
        snprintf(name, sizeof name, "A%d", l);
        rc = ckpt_get_matrix(&g, name, s->width, s->width, &s->A[l], cx);
    }
    return ckpt_close_group(&g, rc, cx);
}

/* Node l's A_prev, B and Yprev from /state. */
static int ckpt_get_node(const CkptGroup *g, CkptState *s, int l,
                         const CkptCtx *cx)
{
    int n = s->width;
    char name[32];

    snprintf(name, sizeof name, "A_prev%d", l);
    if (ckpt_get_matrix(g, name, n, n, &s->A_prev[l], cx) < 0)
        return -1;
    snprintf(name, sizeof name, "B%d", l);
    if (ckpt_get_optional(g, name, n, n, &s->B[l], cx) < 0)
        return -1;
    snprintf(name, sizeof name, "Yprev%d", l);
    if (ckpt_get_optional(g, name, n, s->batch, &s->Yprev[l], cx) < 0)
        return -1;
    if (s->have_yprev[l] && s->Yprev[l] == NULL)
        return ckpt_fail(cx, "have_yprev[%d] is set but /state/%s is "
                         "missing", l, name);
    return 0;
}

/* /state/perm, whatever its length, into a fresh s->perm. */
static int ckpt_get_perm(const CkptGroup *g, CkptState *s,
                         const CkptCtx *cx)
{
    hsize_t len = 0;
    H5ioStatus st = h5io_dset_shape(g->id, "perm", 1, &len);

    if (st == H5IO_CLOSE)
        return ckpt_fail(cx, "cannot close /state/perm");
    if (st != H5IO_OK)
        return ckpt_dset_fail(g, "perm", st, 1, &len, cx);
    if (len > INT_MAX)
        return ckpt_fail(cx, "/state/perm is too long");
    s->perm_len = (int)len;
    s->perm = malloc(len > 0 ? len * sizeof *s->perm : 1);
    if (s->perm == NULL)
        return ckpt_fail(cx, "out of memory");
    if (len == 0)
        return 0;
    return ckpt_get_dset(g, "perm", H5T_NATIVE_INT, 1, &len, s->perm, cx);
}

/* Everything in /state into s. */
static int ckpt_get_state(hid_t file, CkptState *s, const CkptCtx *cx)
{
    hsize_t nodes = (hsize_t)s->nodes;
    CkptGroup g;
    int rc;

    rc = ckpt_open_group(file, "state", &g, cx);
    if (rc == 0)
        rc = ckpt_get_dset(&g, "have_yprev", H5T_NATIVE_INT, 1, &nodes,
                           s->have_yprev, cx);
    if (rc == 0)
        rc = ckpt_get_perm(&g, s, cx);
    for (int l = 0; l < s->nodes && rc == 0; l++)
        rc = ckpt_get_node(&g, s, l, cx);
    return ckpt_close_group(&g, rc, cx);
}

/* The per-node pointer arrays of s, every entry NULL. */
static int ckpt_alloc(CkptState *s, const CkptCtx *cx)
{
    size_t n = (size_t)s->nodes;

    s->A = calloc(n, sizeof *s->A);
    s->A_prev = calloc(n, sizeof *s->A_prev);
    s->B = calloc(n, sizeof *s->B);
    s->Yprev = calloc(n, sizeof *s->Yprev);
    s->have_yprev = calloc(n, sizeof *s->have_yprev);
    if (s->A == NULL || s->A_prev == NULL || s->B == NULL
        || s->Yprev == NULL || s->have_yprev == NULL)
        return ckpt_fail(cx, "out of memory");
    return 0;
}

static int ckpt_load(hid_t file, CkptState *s, const CkptCtx *cx)
{
    if (ckpt_get_root(file, s, cx) < 0 || ckpt_alloc(s, cx) < 0
        || ckpt_get_weights(file, s, cx) < 0)
        return -1;
    return ckpt_get_state(file, s, cx);
}

int ckpt_read(const char *path, CkptState *s, char *err, size_t errlen)
{
    CkptCtx cx = { path, err, errlen };
    CkptState t;
    H5ioQuiet mute;
    hid_t file;
    int rc = -1;

    memset(&t, 0, sizeof t);
    if (access(path, R_OK) != 0)
        return ckpt_fail(&cx, "%s", strerror(errno));
    h5io_mute(&mute);
    file = h5io_open_read(path);
    if (file < 0) {
        ckpt_fail(&cx, "not an HDF5 file, or truncated");
    } else {
        rc = ckpt_load(file, &t, &cx);
        if (H5Fclose(file) < 0 && rc == 0)
            rc = ckpt_fail(&cx, "cannot close");
    }
    h5io_unmute(&mute);
    if (rc == 0)
        *s = t;
    else
        ckpt_state_free(&t);
    return rc;
}

/* ---- checking and freeing ---------------------------------------------- */

/* The next line of *text (without its '\n') in *line, *len; advances
 * *text past it. 0 at the end of the text. */
static int ckpt_next_line(const char **text, const char **line, int *len)
{
    size_t n = strcspn(*text, "\n");

    if (**text == '\0')
        return 0;
    *line = *text;
    *len = (int)n;
    *text += n + ((*text)[n] == '\n');
    return 1;
}

/* A message naming the first line in which two unequal texts differ. */
static int ckpt_first_diff(const char *have, const char *want,
                           const CkptCtx *cx)
{
    const char *a = "", *b = "";
    int la = 0, lb = 0, more_a, more_b;

    /* walk both texts to the first pair of lines that differ */
    do {
        more_a = ckpt_next_line(&have, &a, &la);
        more_b = ckpt_next_line(&want, &b, &lb);
    } while (more_a && more_b && la == lb
             && memcmp(a, b, (size_t)la) == 0);
    if (more_a && more_b)
        return ckpt_fail(cx, "configuration differs: checkpoint has "
                         "'%.*s', this run '%.*s'", la, a, lb, b);
    if (more_a)
        return ckpt_fail(cx, "configuration differs: checkpoint has "
                         "'%.*s', this run no such line", la, a);
    if (more_b)
        return ckpt_fail(cx, "configuration differs: checkpoint has no "
                         "line for this run's '%.*s'", lb, b);
    return ckpt_fail(cx, "configuration differs only in a final newline");
}

int ckpt_check(const CkptState *s, int nodes, int width, int batch,
               const char *fingerprint, const char *path, char *err,
               size_t errlen)
{
    CkptCtx cx = { path, err, errlen };
    const char *have = s->fingerprint != NULL ? s->fingerprint : "";
    const char *want = fingerprint != NULL ? fingerprint : "";

    if (s->nodes != nodes)
        return ckpt_fail(&cx, "checkpoint has %d nodes, this run %d",
                         s->nodes, nodes);
    if (s->width != width)
        return ckpt_fail(&cx, "checkpoint has width %d, this run %d",
                         s->width, width);
    if (s->batch != batch)
        return ckpt_fail(&cx, "checkpoint has batch size %d, this run %d",
                         s->batch, batch);
    if (strcmp(have, want) != 0)
        return ckpt_first_diff(have, want, &cx);
    return 0;
}

static void ckpt_free_each(double **v, int n)
{
    if (v == NULL)
        return;
    for (int l = 0; l < n; l++)
        free(v[l]);
    free(v);
}

void ckpt_state_free(CkptState *s)
{
    if (s == NULL)
        return;
    ckpt_free_each(s->A, s->nodes);
    ckpt_free_each(s->A_prev, s->nodes);
    ckpt_free_each(s->B, s->nodes);
    ckpt_free_each(s->Yprev, s->nodes);
    free(s->have_yprev);
    free(s->perm);
    free(s->config);
    free(s->fingerprint);
    memset(s, 0, sizeof *s);
}
