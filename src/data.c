/*
 * data.c - image data sets (see data.h).
 *
 * IDX files are read through zlib's gzFile API, which passes plain files
 * through unchanged, so one code path serves raw and gzip-compressed files.
 * Every header field is checked before it is trusted, the payload must be
 * complete and nothing may follow it. Pixels become doubles in [0, 1]
 * (byte / 255), one image per column; the byte buffers are freed as soon
 * as they are converted.
 */
#include "data.h"
#include "errmsg.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zlib.h>

#include "rng.h"

#define IDX_MAGIC_IMAGES 0x00000803u
#define IDX_MAGIC_LABELS 0x00000801u
#define IDX_MAX_COUNT 10000000L         /* images or labels in one file */
#define IDX_MAX_PIXELS 1000000L         /* rows * cols of one image */
#define GZ_CHUNK (1u << 30)             /* gzread takes an unsigned */
#define PATH_LEN (CFG_PATH_MAX + 96)
#define REFETCH "fetch it again with `make data`"

/* ---- reading IDX files ------------------------------------------------ */

static gzFile idx_open(const char *path, char *err, size_t errlen)
{
    gzFile gz;

    errno = 0;
    gz = gzopen(path, "rb");
    if (!gz)
        err_set(err, errlen, "%s: cannot open: %s; check the path and [data] "
             "dir, or fetch the data with `make data`", path,
             errno ? strerror(errno) : "out of memory");
    return gz;
}

/* If the stream is in an error state, describe it in err and return -1.
 * zlib reports a gzip stream that stops early as Z_BUF_ERROR. */
static int gz_check(gzFile gz, const char *path, char *err, size_t errlen)
{
    int code;
    const char *msg = gzerror(gz, &code);
    size_t len = strlen(path);

    if (code == Z_OK)
        return 0;
    if (strncmp(msg, path, len) == 0 && strncmp(msg + len, ": ", 2) == 0)
        msg += len + 2;             /* zlib repeats the path; drop it */
    if (code == Z_ERRNO)
        return err_set(err, errlen, "%s: read error: %s", path,
                    strerror(errno));
    if (code == Z_BUF_ERROR)
        return err_set(err, errlen, "%s: truncated: the gzip stream ends "
                    "early (zlib: %s); " REFETCH, path, msg);
    return err_set(err, errlen, "%s: corrupt gzip data (zlib: %s); delete it "
                "and " REFETCH, path, msg);
}

/* Read up to n bytes into buf; *got is how many arrived (fewer than n
 * only at the end of the data). Returns -1 on a stream error. */
static int gz_fill(gzFile gz, const char *path, uint8_t *buf, size_t n,
                   size_t *got, char *err, size_t errlen)
{
    *got = 0;
    while (*got < n) {
        size_t want = n - *got;
        int r;

        if (want > GZ_CHUNK)
            want = GZ_CHUNK;
        r = gzread(gz, buf + *got, (unsigned)want);
        if (r <= 0)
            break;
        *got += (size_t)r;
    }
    return gz_check(gz, path, err, errlen);
}

/* Read the big-endian header of `ndims` 32-bit words after the magic and
 * check the magic. dims[] receives the dimensions. */
static int idx_header(gzFile gz, const char *path, uint32_t magic,
                      int ndims, uint32_t *dims, char *err, size_t errlen)
{
    uint8_t h[16];
    size_t want = 4 * (size_t)(ndims + 1), got;
    uint32_t w[4];

    if (gz_fill(gz, path, h, want, &got, err, errlen) < 0)
        return -1;
    if (got < want)
        return err_set(err, errlen, "%s: truncated: %zu bytes, shorter than "
                    "the %zu-byte IDX header; " REFETCH, path, got, want);
    for (int i = 0; i <= ndims; i++)
        w[i] = (uint32_t)h[4 * i] << 24 | (uint32_t)h[4 * i + 1] << 16
               | (uint32_t)h[4 * i + 2] << 8 | (uint32_t)h[4 * i + 3];
    if (w[0] != magic)
        return err_set(err, errlen, "%s: bad magic number 0x%08x, expected "
                    "0x%08x (IDX %s file); is this the right file? If so, "
                    REFETCH, path, (unsigned)w[0], (unsigned)magic,
                    magic == IDX_MAGIC_IMAGES ? "image" : "label");
    memcpy(dims, w + 1, sizeof *dims * (size_t)ndims);
    return 0;
}

/* Read exactly n payload bytes (malloc'd into *buf) and make sure nothing
 * follows them. `what` describes the header's promise for messages. */
static int idx_payload(gzFile gz, const char *path, size_t head, size_t n,
                       const char *what, uint8_t **buf, char *err,
                       size_t errlen)
{
    size_t got;
    uint8_t extra;

    *buf = malloc(n ? n : 1);
    if (!*buf)
        return err_set(err, errlen, "%s: out of memory for %s (%zu bytes)",
                    path, what, n);
    if (gz_fill(gz, path, *buf, n, &got, err, errlen) < 0)
        goto bad;
    if (got < n) {
        err_set(err, errlen, "%s: truncated: header says %s (%zu bytes) but "
             "the file has %zu%s; " REFETCH, path, what, head + n,
             head + got, gzdirect(gz) ? "" : " when uncompressed");
        goto bad;
    }
    if (gz_fill(gz, path, &extra, 1, &got, err, errlen) < 0)
        goto bad;
    if (got > 0) {
        err_set(err, errlen, "%s: trailing bytes after the %zu bytes that "
             "the header announces (%s); the file is damaged or not IDX; "
             REFETCH, path, head + n, what);
        goto bad;
    }
    return 0;
bad:
    free(*buf);
    *buf = NULL;
    return -1;
}

/* Check image dimensions against the sanity bounds. */
static int idx_image_dims(const char *path, const uint32_t *d, char *err,
                          size_t errlen)
{
    if (d[0] == 0 || d[1] == 0 || d[2] == 0)
        return err_set(err, errlen, "%s: header says %u images of %ux%u; "
                    "every dimension must be positive; " REFETCH, path,
                    (unsigned)d[0], (unsigned)d[1], (unsigned)d[2]);
    if (d[0] > IDX_MAX_COUNT || d[1] > IDX_MAX_PIXELS
        || d[2] > IDX_MAX_PIXELS
        || (uint64_t)d[1] * d[2] > (uint64_t)IDX_MAX_PIXELS)
        return err_set(err, errlen, "%s: header says %u images of %ux%u, "
                    "beyond the limits (%ld images, %ld pixels per image); "
                    "the header is corrupt; " REFETCH, path,
                    (unsigned)d[0], (unsigned)d[1], (unsigned)d[2],
                    IDX_MAX_COUNT, IDX_MAX_PIXELS);
    return 0;
}

static int read_images(gzFile gz, const char *path, uint8_t **pix,
                       uint32_t *d, char *err, size_t errlen)
{
    char what[96];
    size_t n;

    if (idx_header(gz, path, IDX_MAGIC_IMAGES, 3, d, err, errlen) < 0
        || idx_image_dims(path, d, err, errlen) < 0)
        return -1;
    n = (size_t)d[0] * d[1] * d[2];
    snprintf(what, sizeof what, "%u images of %ux%u", (unsigned)d[0],
             (unsigned)d[1], (unsigned)d[2]);
    return idx_payload(gz, path, 16, n, what, pix, err, errlen);
}

/* Close a stream we read; zlib can report a damaged end only here. */
static int idx_close(gzFile gz, const char *path, int rc, char *err,
                     size_t errlen)
{
    int code = gzclose(gz);

    if (rc == 0 && code != Z_OK)
        return err_set(err, errlen, "%s: error at the end of the file "
                    "(zlib code %d); " REFETCH, path, code);
    return rc;
}

int data_idx_read_images(const char *path, uint8_t **pix, int *count,
                         int *rows, int *cols, char *err, size_t errlen)
{
    uint32_t d[3];
    gzFile gz = idx_open(path, err, errlen);
    int rc;

    *pix = NULL;
    if (!gz)
        return -1;
    rc = read_images(gz, path, pix, d, err, errlen);
    rc = idx_close(gz, path, rc, err, errlen);
    if (rc < 0) {
        free(*pix);
        *pix = NULL;
        return -1;
    }
    *count = (int)d[0];
    *rows = (int)d[1];
    *cols = (int)d[2];
    return 0;
}

/* Every label must name one of the DATA_CLASSES classes. */
static int check_labels(const char *path, const uint8_t *lab, uint32_t n,
                        char *err, size_t errlen)
{
    for (uint32_t i = 0; i < n; i++)
        if (lab[i] >= DATA_CLASSES)
            return err_set(err, errlen, "%s: label %u (item %u) is out of "
                        "range 0..%d; this is not a 10-class label file; "
                        REFETCH, path, (unsigned)lab[i], (unsigned)i,
                        DATA_CLASSES - 1);
    return 0;
}

static int read_labels(gzFile gz, const char *path, uint8_t **lab,
                       uint32_t *n, char *err, size_t errlen)
{
    char what[64];

    if (idx_header(gz, path, IDX_MAGIC_LABELS, 1, n, err, errlen) < 0)
        return -1;
    if (*n == 0 || *n > IDX_MAX_COUNT)
        return err_set(err, errlen, "%s: header says %u labels; expected "
                    "1..%ld; the header is corrupt; " REFETCH, path,
                    (unsigned)*n, IDX_MAX_COUNT);
    snprintf(what, sizeof what, "%u labels", (unsigned)*n);
    if (idx_payload(gz, path, 8, *n, what, lab, err, errlen) < 0)
        return -1;
    return check_labels(path, *lab, *n, err, errlen);
}

int data_idx_read_labels(const char *path, uint8_t **lab, int *count,
                         char *err, size_t errlen)
{
    uint32_t n = 0;
    gzFile gz = idx_open(path, err, errlen);
    int rc;

    *lab = NULL;
    if (!gz)
        return -1;
    rc = read_labels(gz, path, lab, &n, err, errlen);
    rc = idx_close(gz, path, rc, err, errlen);
    if (rc < 0) {
        free(*lab);
        *lab = NULL;
        return -1;
    }
    *count = (int)n;
    return 0;
}

/* ---- data sets -------------------------------------------------------- */

void data_free_set(DataSet *s)
{
    if (!s)
        return;
    free(s->x);
    free(s->y);
    memset(s, 0, sizeof *s);
}

void data_free(DataSplit *d)
{
    if (!d)
        return;
    data_free_set(&d->train);
    data_free_set(&d->val);
    data_free_set(&d->test);
}

static int set_alloc(DataSet *s, int count, int dim)
{
    s->count = count;
    s->dim = dim;
    s->x = malloc(sizeof *s->x * (size_t)dim * (size_t)(count ? count : 1));
    s->y = malloc(sizeof *s->y * (size_t)(count ? count : 1));
    if (s->x && s->y)
        return 0;
    data_free_set(s);
    return -1;
}

/* Scale one column of x to zero mean and unit (population) variance. */
static void standardise_column(double *x, int n)
{
    double mean = 0.0, var = 0.0, sd, lo = x[0], hi = x[0];

    for (int i = 0; i < n; i++) {
        mean += x[i];
        lo = x[i] < lo ? x[i] : lo;
        hi = x[i] > hi ? x[i] : hi;
    }
    if (lo == hi) {                 /* constant: no scale to divide by */
        memset(x, 0, sizeof *x * (size_t)n);
        return;
    }
    mean /= n;
    for (int i = 0; i < n; i++)
        var += (x[i] - mean) * (x[i] - mean);
    sd = sqrt(var / n);
    for (int i = 0; i < n; i++)
        x[i] = (x[i] - mean) / sd;
}

void data_standardise(DataSet *s)
{
    if (s->dim <= 0)
        return;
    for (int k = 0; k < s->count; k++)
        standardise_column(s->x + (size_t)k * (size_t)s->dim, s->dim);
}

/* ---- locating and loading the files ------------------------------------ */

/* The directory that holds the four files of [data] set. */
static int set_dir(const NlpcConfig *cfg, char *dir, char *err,
                   size_t errlen)
{
    const char *set = cfg->data_set;

    if (strcmp(set, "custom") == 0)
        snprintf(dir, PATH_LEN, "%s", cfg->data_dir);
    else if (strcmp(set, "mnist") == 0 || strcmp(set, "fashion") == 0)
        snprintf(dir, PATH_LEN, "%s/%s", cfg->data_dir, set);
    else
        return err_set(err, errlen, "[data] set = \"%s\" is not a known data "
                    "set; use mnist, fashion or custom", set);
    return 0;
}

/* Find <dir>/<name> or else <dir>/<name>.gz; path (PATH_LEN bytes)
 * receives the one found. */
static int find_idx(const char *dir, const char *name, const char *set,
                    char *path, char *err, size_t errlen)
{
    int len = snprintf(path, PATH_LEN, "%s/%s", dir, name);

    if (len < 0 || len + 4 > PATH_LEN)
        return err_set(err, errlen, "%s/%s: path too long; use a shorter "
                    "[data] dir", dir, name);
    if (access(path, F_OK) == 0)
        return 0;
    memcpy(path + len, ".gz", 4);
    if (access(path, F_OK) == 0)
        return 0;
    path[len] = '\0';
    if (strcmp(set, "custom") == 0)
        return err_set(err, errlen, "%s: not found (also tried %s.gz); put "
                    "the four IDX files of the custom set there or change "
                    "[data] dir", path, path);
    return err_set(err, errlen, "%s: not found (also tried %s.gz); run `make "
                "data` to fetch MNIST and Fashion-MNIST, or change "
                "[data] dir", path, path);
}

/* Turn n images (and labels) of dim bytes into a DataSet in [0, 1]. */
static int to_set(const uint8_t *pix, const uint8_t *lab, int n, int dim,
                  DataSet *s)
{
    size_t total = (size_t)n * (size_t)dim;

    if (set_alloc(s, n, dim) < 0)
        return -1;
    for (size_t i = 0; i < total; i++)
        s->x[i] = pix[i] / 255.0;
    for (int k = 0; k < n; k++)
        s->y[k] = lab[k];
    return 0;
}

/* The paths of one part (training or test) and its limit key. */
typedef struct {
    const char *img_name, *lab_name;
    long limit;
    const char *limit_key;
} Part;

/* Checks between the two files of a part and the configuration. */
static int check_part(const NlpcConfig *cfg, const Part *p,
                      const char *ipath, const char *lpath, int n, int ln,
                      int dim, char *err, size_t errlen)
{
    if (n != ln)
        return err_set(err, errlen, "%s has %d images but %s has %d labels; "
                    "the two files must belong together; " REFETCH,
                    ipath, n, lpath, ln);
    if (dim != cfg->width)
        return err_set(err, errlen, "%s: images have %d pixels but [network] "
                    "width = %d; set [network] width = %d", ipath, dim,
                    cfg->width, dim);
    if (p->limit < 0 || p->limit > n)
        return err_set(err, errlen, "%s = %ld but %s has %d images; use "
                    "0 (all) up to %d", p->limit_key, p->limit, ipath, n,
                    n);
    return 0;
}

static int load_part(const NlpcConfig *cfg, const char *dir, const Part *p,
                     DataSet *s, char *err, size_t errlen)
{
    char ipath[PATH_LEN], lpath[PATH_LEN];
    uint8_t *pix = NULL, *lab = NULL;
    int n, rows, cols, ln = 0, rc = -1;

    if (find_idx(dir, p->img_name, cfg->data_set, ipath, err, errlen) < 0
        || find_idx(dir, p->lab_name, cfg->data_set, lpath, err,
                    errlen) < 0)
        return -1;
    if (data_idx_read_images(ipath, &pix, &n, &rows, &cols, err,
                             errlen) < 0)
        return -1;
    if (data_idx_read_labels(lpath, &lab, &ln, err, errlen) < 0)
        goto out;
    if (check_part(cfg, p, ipath, lpath, n, ln, rows * cols, err,
                   errlen) < 0)
        goto out;
    if (p->limit > 0)
        n = (int)p->limit;
    rc = to_set(pix, lab, n, rows * cols, s);
    if (rc < 0)
        err_set(err, errlen, "%s: out of memory for %d images as doubles",
             ipath, n);
out:
    free(pix);
    free(lab);
    return rc;
}

/* Copy column k of src to column j of dst (which may be src, j <= k). */
static void copy_column(const DataSet *src, int k, DataSet *dst, int j)
{
    size_t dim = (size_t)src->dim;

    memmove(dst->x + (size_t)j * dim, src->x + (size_t)k * dim,
            sizeof *dst->x * dim);
    dst->y[j] = src->y[k];
}

/* in_val[i] = 1 for the `v` training images that the seeded shuffle picks
 * for validation. Returns NULL on no memory. */
static char *pick_validation(unsigned long seed, int n, int v)
{
    int *idx = malloc(sizeof *idx * (size_t)n);
    char *in_val = calloc((size_t)n, 1);
    Rng r;

    if (!idx || !in_val) {
        free(idx);
        free(in_val);
        return NULL;
    }
    for (int i = 0; i < n; i++)
        idx[i] = i;
    rng_init(&r, seed, RNG_STREAM_SPLIT);
    rng_shuffle(&r, idx, n);
    for (int i = 0; i < v; i++)
        in_val[idx[i]] = 1;
    free(idx);
    return in_val;
}

/* Shrink s's arrays to its count; keeps the old blocks if realloc fails. */
static void set_shrink(DataSet *s)
{
    size_t n = (size_t)(s->count ? s->count : 1);
    double *x = realloc(s->x, sizeof *s->x * (size_t)s->dim * n);
    int *y;

    if (x)
        s->x = x;
    y = realloc(s->y, sizeof *s->y * n);
    if (y)
        s->y = y;
}

/* Move `v` seeded-random images of all into d->val and the rest into
 * d->train, both in their original order. The training images are
 * compacted in place, so the peak memory is all plus the validation set.
 * all is consumed. */
static int split_validation(const NlpcConfig *cfg, DataSet *all,
                            DataSplit *d, char *err, size_t errlen)
{
    int n = all->count, v = (int)cfg->validation, jt = 0, jv = 0;
    char *in_val = NULL;

    if (v > 0) {
        in_val = pick_validation(cfg->seed, n, v);
        if (!in_val || set_alloc(&d->val, v, all->dim) < 0) {
            free(in_val);
            return err_set(err, errlen, "out of memory splitting %d training "
                        "images into %d + %d", n, n - v, v);
        }
        for (int k = 0; k < n; k++) {
            if (in_val[k])
                copy_column(all, k, &d->val, jv++);
            else
                copy_column(all, k, all, jt++);
        }
        free(in_val);
        all->count = jt;
        set_shrink(all);
    }
    d->train = *all;
    memset(all, 0, sizeof *all);
    return 0;
}

static int check_validation(const NlpcConfig *cfg, int n, char *err,
                            size_t errlen)
{
    if (cfg->validation < 0 || cfg->validation >= n)
        return err_set(err, errlen, "[data] validation = %ld but there are %d "
                    "training images (after [data] train_limit); use 0 up "
                    "to %d so that some are left to train on",
                    cfg->validation, n, n - 1);
    return 0;
}

/* Reads only the header of the training images file: a caller can check
 * the image size against a network before loading anything. */
int data_image_size(const NlpcConfig *cfg, int *dim, char *path,
                    size_t pathlen, char *err, size_t errlen)
{
    char dir[PATH_LEN], ipath[PATH_LEN];
    uint32_t d[3];
    gzFile gz;
    int rc;

    if (set_dir(cfg, dir, err, errlen) < 0
        || find_idx(dir, "train-images-idx3-ubyte", cfg->data_set, ipath,
                    err, errlen) < 0)
        return -1;
    snprintf(path, pathlen, "%s", ipath);
    gz = idx_open(ipath, err, errlen);
    if (!gz)
        return -1;
    rc = idx_header(gz, ipath, IDX_MAGIC_IMAGES, 3, d, err, errlen);
    if (rc == 0)
        rc = idx_image_dims(ipath, d, err, errlen);
    gzclose(gz);
    if (rc == 0)
        *dim = (int)(d[1] * d[2]);
    return rc;
}

int data_load(const NlpcConfig *cfg, DataSplit *d, char *err,
              size_t errlen)
{
    static const char *const img[2] = { "train-images-idx3-ubyte",
                                        "t10k-images-idx3-ubyte" };
    static const char *const lab[2] = { "train-labels-idx1-ubyte",
                                        "t10k-labels-idx1-ubyte" };
    Part train = { img[0], lab[0], cfg->train_limit, "[data] train_limit" };
    Part test = { img[1], lab[1], cfg->test_limit, "[data] test_limit" };
    char dir[PATH_LEN];
    DataSet all = { 0, 0, NULL, NULL };

    memset(d, 0, sizeof *d);
    if (set_dir(cfg, dir, err, errlen) < 0
        || load_part(cfg, dir, &train, &all, err, errlen) < 0
        || check_validation(cfg, all.count, err, errlen) < 0
        || load_part(cfg, dir, &test, &d->test, err, errlen) < 0
        || split_validation(cfg, &all, d, err, errlen) < 0) {
        data_free_set(&all);
        data_free(d);
        return -1;
    }
    if (cfg->standardise) {
        data_standardise(&d->train);
        data_standardise(&d->val);
        data_standardise(&d->test);
    }
    return 0;
}
