/*
 * test_ckpt.c - checkpoints: a bitwise round trip, the on-disk orientation
 * read back with the raw HDF5 API, pruning to `keep` and the listing
 * order, refusal of truncated, foreign-version, incomplete and misshapen
 * files, ckpt_check's messages, and that a failed write leaves the old
 * checkpoints and no .tmp behind.
 *
 * Run from the repository root; scratch files go to tests/tmp/.
 */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include <hdf5.h>

#include "ckpt.h"
#include "config.h"
#include "harness.h"

#define TMP_DIR "tests/tmp"
#define NODES 3
#define WIDTH 5
#define BATCH 4
#define PERM_LEN 9

static const char *const FINGERPRINT =
    "nodes = 3\nwidth = 5\nl2 = 34\nseed = 7\n";

/* Entry (r, c) of array `kind` of node l: distinct everywhere and not
 * short in binary, so a swap, transposition or rounding would show. */
static double value(int kind, int l, int r, int c)
{
    return 1000.0 * kind + 100.0 * l + 10.0 * r + c
           + 1.0 / (3.0 + kind * 13.0 + l + r * 7.0 + c * 11.0);
}

typedef struct {
    CkptState s;
    double *A[NODES], *A_prev[NODES], *B[NODES], *Yprev[NODES];
    int have_yprev[NODES];
    int perm[PERM_LEN];
    char *config;
} Fixture;

/* A fresh rows x cols column-major matrix of value(kind, l, ., .). */
static double *matrix(int kind, int l, int rows, int cols)
{
    double *m = malloc((size_t)rows * cols * sizeof *m);

    assert_non_null(m);
    for (int c = 0; c < cols; c++)
        for (int r = 0; r < rows; r++)
            m[r + c * rows] = value(kind, l, r, c);
    return m;
}

/* Values whose bits a lossy path would change: -0, a subnormal, a NaN
 * with a payload. */
static void put_special_values(double *a)
{
    uint64_t nan_bits = 0x7ff8000000012345ULL;

    a[1] = -0.0;
    a[2] = 4.9406564584124654e-324;
    memcpy(&a[3], &nan_bits, sizeof a[3]);
}

static char *config_text(void)
{
    NlpcConfig cfg;
    char probe[1];
    size_t need;
    char *text;

    cfg_defaults(&cfg);
    need = cfg_to_string(&cfg, probe, sizeof probe);
    text = malloc(need + 1);
    assert_non_null(text);
    cfg_to_string(&cfg, text, need + 1);
    return text;
}

/* The state of the brief: B only for nodes 1 and 2, Yprev only for 1. */
static void fill_state(Fixture *fx)
{
    CkptState *s = &fx->s;

    for (int l = 0; l < NODES; l++) {
        fx->A[l] = matrix(1, l, WIDTH, WIDTH);
        fx->A_prev[l] = matrix(2, l, WIDTH, WIDTH);
        fx->B[l] = l >= 1 ? matrix(3, l, WIDTH, WIDTH) : NULL;
        fx->Yprev[l] = l == 1 ? matrix(4, l, WIDTH, BATCH) : NULL;
        fx->have_yprev[l] = l == 1;
    }
    put_special_values(fx->A[0]);
    for (int i = 0; i < PERM_LEN; i++)
        fx->perm[i] = (7 * i + 3) % PERM_LEN;
    fx->config = config_text();
    *s = (CkptState){ .nodes = NODES, .width = WIDTH, .batch = BATCH,
                      .iteration = 17, .seed = 0xFEDCBA9876543210UL,
                      .A = fx->A, .A_prev = fx->A_prev, .B = fx->B,
                      .Yprev = fx->Yprev, .have_yprev = fx->have_yprev,
                      .rng_batch = { 1, 2, 3, 4095 },
                      .rng_sched = { 4094, 17, 33, 1 },
                      .perm = fx->perm, .perm_len = PERM_LEN,
                      .config = fx->config,
                      .fingerprint = (char *)FINGERPRINT };
}

/* Remove path and, if it is a directory, everything below it. */
static void remove_tree(const char *path)
{
    struct stat st;
    struct dirent *e;
    char sub[1024];
    DIR *d;

    if (lstat(path, &st) != 0)
        return;
    if (S_ISDIR(st.st_mode) && (d = opendir(path)) != NULL) {
        while ((e = readdir(d)) != NULL) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
            remove_tree(sub);
        }
        closedir(d);
    }
    assert_int_equal(remove(path), 0);
}

/* An empty directory TMP_DIR/<name>; its path in buf. */
static const char *fresh_dir(const char *name, char *buf, size_t len)
{
    snprintf(buf, len, TMP_DIR "/%s", name);
    remove_tree(buf);
    assert_int_equal(mkdir(buf, 0777), 0);
    return buf;
}

static int setup(void **state)
{
    Fixture *fx = calloc(1, sizeof *fx);

    if (fx == NULL || (mkdir(TMP_DIR, 0777) != 0 && errno != EEXIST))
        return -1;
    fill_state(fx);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    Fixture *fx = *state;

    for (int l = 0; l < NODES; l++) {
        free(fx->A[l]);
        free(fx->A_prev[l]);
        free(fx->B[l]);
        free(fx->Yprev[l]);
    }
    free(fx->config);
    free(fx);
    return 0;
}

static void write_ok(const char *dir, int keep, const CkptState *s)
{
    char err[1024] = "";

    if (ckpt_write(dir, keep, s, err, sizeof err) != 0)
        fail_msg("ckpt_write: %s", err);
}

static void read_ok(const char *path, CkptState *s)
{
    char err[1024] = "";

    if (ckpt_read(path, s, err, sizeof err) != 0)
        fail_msg("ckpt_read: %s", err);
}

/* Array `name` of the read state equals the written one bit for bit, or
 * both are NULL. */
static void assert_same_matrix(const double *got, const double *want,
                               size_t n)
{
    if (want == NULL) {
        assert_null(got);
        return;
    }
    assert_non_null(got);
    assert_memory_equal(got, want, n * sizeof *want);
}

static void test_round_trip_is_bitwise(void **state)
{
    Fixture *fx = *state;
    const CkptState *w = &fx->s;
    char dir[256], path[512];
    CkptState r;

    fresh_dir("ckpt_round", dir, sizeof dir);
    write_ok(dir, 3, w);
    snprintf(path, sizeof path, "%s/ckpt-00000017.h5", dir);
    read_ok(path, &r);
    assert_int_equal(r.nodes, NODES);
    assert_int_equal(r.width, WIDTH);
    assert_int_equal(r.batch, BATCH);
    assert_int_equal(r.iteration, 17);
    assert_true(r.seed == 0xFEDCBA9876543210UL);
    for (int l = 0; l < NODES; l++) {
        assert_same_matrix(r.A[l], w->A[l], WIDTH * WIDTH);
        assert_same_matrix(r.A_prev[l], w->A_prev[l], WIDTH * WIDTH);
        assert_same_matrix(r.B[l], w->B[l], WIDTH * WIDTH);
        assert_same_matrix(r.Yprev[l], w->Yprev[l], WIDTH * BATCH);
        assert_int_equal(r.have_yprev[l], w->have_yprev[l]);
    }
    assert_true(signbit(r.A[0][1]) && isnan(r.A[0][3]));
    assert_memory_equal(r.rng_batch, w->rng_batch, sizeof r.rng_batch);
    assert_memory_equal(r.rng_sched, w->rng_sched, sizeof r.rng_sched);
    assert_int_equal(r.perm_len, PERM_LEN);
    assert_memory_equal(r.perm, w->perm, PERM_LEN * sizeof *r.perm);
    assert_true(strlen(r.config) > 100);
    assert_string_equal(r.config, w->config);
    assert_string_equal(r.fingerprint, FINGERPRINT);
    ckpt_state_free(&r);
    assert_null(r.A);
}

/* An empty perm and no B or Yprev anywhere also come back as written. */
static void test_round_trip_of_sparse_state(void **state)
{
    Fixture *fx = *state;
    double *none[NODES] = { NULL, NULL, NULL };
    int flags[NODES] = { 0, 0, 0 };
    CkptState w = fx->s, r;
    char dir[256], path[512];

    w.B = none;
    w.Yprev = none;
    w.have_yprev = flags;
    w.perm = NULL;
    w.perm_len = 0;
    w.iteration = 0;
    fresh_dir("ckpt_sparse", dir, sizeof dir);
    write_ok(dir, 1, &w);
    snprintf(path, sizeof path, "%s/ckpt-00000000.h5", dir);
    read_ok(path, &r);
    assert_int_equal(r.perm_len, 0);
    for (int l = 0; l < NODES; l++) {
        assert_null(r.B[l]);
        assert_null(r.Yprev[l]);
        assert_same_matrix(r.A[l], w.A[l], WIDTH * WIDTH);
    }
    ckpt_state_free(&r);
}

/* The rows x cols data set at `name`, row-major, into out. */
static void read_raw(const char *path, const char *name, double *out,
                     hsize_t rows, hsize_t cols)
{
    hid_t file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    hid_t dset, space;
    hsize_t dims[2];

    assert_true(file >= 0);
    dset = H5Dopen2(file, name, H5P_DEFAULT);
    assert_true(dset >= 0);
    space = H5Dget_space(dset);
    assert_int_equal(H5Sget_simple_extent_ndims(space), 2);
    assert_int_equal(H5Sget_simple_extent_dims(space, dims, NULL), 2);
    assert_true(dims[0] == rows && dims[1] == cols);
    assert_true(H5Dread(dset, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL,
                        H5P_DEFAULT, out) >= 0);
    assert_true(H5Sclose(space) >= 0 && H5Dclose(dset) >= 0);
    assert_true(H5Fclose(file) >= 0);
}

/* With plain HDF5, /weights/A1[r][c] must be A_1(r, c) and
 * /state/Yprev1[r][k] must be Yprev_1(r, k). */
static void test_on_disk_orientation(void **state)
{
    Fixture *fx = *state;
    double a[WIDTH][WIDTH], y[WIDTH][BATCH];
    char dir[256], path[512];

    fresh_dir("ckpt_orient", dir, sizeof dir);
    write_ok(dir, 1, &fx->s);
    snprintf(path, sizeof path, "%s/ckpt-00000017.h5", dir);
    read_raw(path, "/weights/A1", &a[0][0], WIDTH, WIDTH);
    for (int r = 0; r < WIDTH; r++)
        for (int c = 0; c < WIDTH; c++)
            assert_true(a[r][c] == value(1, 1, r, c));
    read_raw(path, "/state/Yprev1", &y[0][0], WIDTH, BATCH);
    for (int r = 0; r < WIDTH; r++)
        for (int k = 0; k < BATCH; k++)
            assert_true(y[r][k] == value(4, 1, r, k));
}

/* Sorted names of the directory's entries, one string "a,b,". */
static void dir_names(const char *dir, char *out, size_t len)
{
    char names[16][256];
    int n = 0;
    struct dirent *e;
    DIR *d = opendir(dir);

    assert_non_null(d);
    while ((e = readdir(d)) != NULL && n < 16)
        if (e->d_name[0] != '.')
            snprintf(names[n++], sizeof names[0], "%s", e->d_name);
    closedir(d);
    qsort(names, (size_t)n, sizeof names[0],
          (int (*)(const void *, const void *))strcmp);
    out[0] = '\0';
    for (int i = 0; i < n; i++) {
        strncat(out, names[i], len - strlen(out) - 1);
        strncat(out, ",", len - strlen(out) - 1);
    }
}

static void test_keep_two_and_list_newest_first(void **state)
{
    Fixture *fx = *state;
    CkptState w = fx->s;
    char dir[256], want[512], names[1024];
    char **paths;
    int n;

    fresh_dir("ckpt_keep", dir, sizeof dir);
    for (int it = 1; it <= 3; it++) {
        w.iteration = it;
        write_ok(dir, 2, &w);
    }
    dir_names(dir, names, sizeof names);
    assert_string_equal(names, "ckpt-00000002.h5,ckpt-00000003.h5,");
    n = ckpt_list(dir, &paths);
    assert_int_equal(n, 2);
    snprintf(want, sizeof want, "%s/ckpt-00000003.h5", dir);
    assert_string_equal(paths[0], want);
    snprintf(want, sizeof want, "%s/ckpt-00000002.h5", dir);
    assert_string_equal(paths[1], want);
    for (int i = 0; i < n; i++)
        free(paths[i]);
    free(paths);
}

static void touch(const char *dir, const char *name)
{
    char path[512];
    FILE *f;

    snprintf(path, sizeof path, "%s/%s", dir, name);
    f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fclose(f), 0);
}

/* Only regular files named ckpt-<digits>.h5 count, ordered by number. */
static void test_list_skips_other_names(void **state)
{
    char dir[256], want[512], sub[512];
    char **paths;
    int n;

    (void)state;
    fresh_dir("ckpt_names", dir, sizeof dir);
    touch(dir, "ckpt-00000005.h5.tmp");
    touch(dir, "ckpt-00000009.h5");
    touch(dir, "ckpt-123456789.h5");
    touch(dir, "ckpt-x.h5");
    touch(dir, "weights.h5");
    snprintf(sub, sizeof sub, "%s/ckpt-00000099.h5", dir);
    assert_int_equal(mkdir(sub, 0777), 0);
    n = ckpt_list(dir, &paths);
    assert_int_equal(n, 2);
    snprintf(want, sizeof want, "%s/ckpt-123456789.h5", dir);
    assert_string_equal(paths[0], want);
    snprintf(want, sizeof want, "%s/ckpt-00000009.h5", dir);
    assert_string_equal(paths[1], want);
    for (int i = 0; i < n; i++)
        free(paths[i]);
    free(paths);
}

static void test_list_of_missing_dir_is_empty(void **state)
{
    char **paths = (char **)&paths;

    (void)state;
    remove_tree(TMP_DIR "/ckpt_nowhere");
    assert_int_equal(ckpt_list(TMP_DIR "/ckpt_nowhere", &paths), 0);
    assert_null(paths);
}

static void test_truncated_file_is_refused(void **state)
{
    Fixture *fx = *state;
    char dir[256], path[512], cut[512], err[1024] = "";
    unsigned char *bytes;
    CkptState r;
    long len;
    FILE *f;

    fresh_dir("ckpt_trunc", dir, sizeof dir);
    write_ok(dir, 1, &fx->s);
    snprintf(path, sizeof path, "%s/ckpt-00000017.h5", dir);
    snprintf(cut, sizeof cut, "%s/half.h5", dir);
    bytes = harness_slurp(path, &len);
    f = fopen(cut, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(bytes, 1, (size_t)len / 2, f), (size_t)len / 2);
    assert_int_equal(fclose(f), 0);
    free(bytes);
    assert_int_equal(ckpt_read(cut, &r, err, sizeof err), -1);
    assert_non_null(strstr(err, cut));
    assert_non_null(strstr(err, "truncated"));
}

/* One byte of a weight changed on disk, the file's size unchanged: the
 * data sets' Fletcher-32 checksums make the read fail. The byte is found
 * by searching the file for the bytes of the double A_1(2, 3). */
static void test_changed_byte_is_refused(void **state)
{
    Fixture *fx = *state;
    char dir[256], path[512], err[1024] = "";
    double want = fx->s.A[1][3 * WIDTH + 2];
    unsigned char *bytes, *hit = NULL;
    CkptState r;
    long len;
    FILE *f;

    fresh_dir("ckpt_flip", dir, sizeof dir);
    write_ok(dir, 1, &fx->s);
    snprintf(path, sizeof path, "%s/ckpt-00000017.h5", dir);
    bytes = harness_slurp(path, &len);
    for (long i = 0; i + 8 <= len && !hit; i++)
        if (memcmp(bytes + i, &want, 8) == 0)
            hit = bytes + i;
    assert_non_null(hit);
    hit[3] ^= 0x10;
    f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(bytes, 1, (size_t)len, f), (size_t)len);
    assert_int_equal(fclose(f), 0);
    free(bytes);
    assert_int_equal(ckpt_read(path, &r, err, sizeof err), -1);
    assert_non_null(strstr(err, path));
}

/* Open a written checkpoint read-write for a hand edit. */
static hid_t open_rw(const char *dir, char *path, size_t len)
{
    hid_t file;

    snprintf(path, len, "%s/ckpt-00000017.h5", dir);
    file = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    assert_true(file >= 0);
    return file;
}

static void set_int_attr(hid_t file, const char *name, int v)
{
    hid_t attr = H5Aopen(file, name, H5P_DEFAULT);

    assert_true(attr >= 0);
    assert_true(H5Awrite(attr, H5T_NATIVE_INT, &v) >= 0);
    assert_true(H5Aclose(attr) >= 0);
}

/* ckpt_read fails with a message holding path and `words`. */
static void assert_refused(const char *path, const char *words)
{
    char err[1024] = "";
    CkptState r;

    assert_int_equal(ckpt_read(path, &r, err, sizeof err), -1);
    assert_non_null(strstr(err, path));
    if (strstr(err, words) == NULL)
        fail_msg("'%s' not in '%s'", words, err);
}

static void test_other_version_is_refused(void **state)
{
    Fixture *fx = *state;
    char dir[256], path[512];
    hid_t file;

    fresh_dir("ckpt_version", dir, sizeof dir);
    write_ok(dir, 1, &fx->s);
    file = open_rw(dir, path, sizeof path);
    set_int_attr(file, "format_version", 2);
    assert_true(H5Fclose(file) >= 0);
    assert_refused(path, "format_version 2");
}

static void test_missing_data_set_is_refused(void **state)
{
    Fixture *fx = *state;
    char dir[256], path[512];
    hid_t file;

    fresh_dir("ckpt_missing", dir, sizeof dir);
    write_ok(dir, 1, &fx->s);
    file = open_rw(dir, path, sizeof path);
    assert_true(H5Ldelete(file, "/state/A_prev2", H5P_DEFAULT) >= 0);
    assert_true(H5Fclose(file) >= 0);
    assert_refused(path, "no data set /state/A_prev2");
}

/* The batch attribute no longer matches /state/Yprev1. */
static void test_shape_mismatch_is_refused(void **state)
{
    Fixture *fx = *state;
    char dir[256], path[512];
    hid_t file;

    fresh_dir("ckpt_shape", dir, sizeof dir);
    write_ok(dir, 1, &fx->s);
    file = open_rw(dir, path, sizeof path);
    set_int_attr(file, "batch", BATCH + 1);
    assert_true(H5Fclose(file) >= 0);
    assert_refused(path, "/state/Yprev1 is not 5 x 5");
}

/* ckpt_check's verdict and message for one expectation. */
static void check_says(const CkptState *s, int nodes, int width,
                         int batch, const char *fp, const char *words)
{
    char err[1024] = "";
    int rc = ckpt_check(s, nodes, width, batch, fp, "the.h5", err,
                        sizeof err);

    if (words == NULL) {
        assert_int_equal(rc, 0);
        return;
    }
    assert_int_equal(rc, -1);
    assert_non_null(strstr(err, "the.h5"));
    if (strstr(err, words) == NULL)
        fail_msg("'%s' not in '%s'", words, err);
}

static void test_check_refuses_other_run(void **state)
{
    Fixture *fx = *state;
    const CkptState *s = &fx->s;

    check_says(s, NODES, WIDTH, BATCH, FINGERPRINT, NULL);
    check_says(s, NODES + 1, WIDTH, BATCH, FINGERPRINT, "3 nodes");
    check_says(s, NODES, WIDTH + 1, BATCH, FINGERPRINT,
                 "checkpoint has width 5, this run 6");
    check_says(s, NODES, WIDTH, BATCH - 1, FINGERPRINT,
                 "checkpoint has batch size 4, this run 3");
    check_says(s, NODES, WIDTH, BATCH,
                 "nodes = 3\nwidth = 5\nl2 = 1\nseed = 8\n",
                 "checkpoint has 'l2 = 34', this run 'l2 = 1'");
    check_says(s, NODES, WIDTH, BATCH,
                 "nodes = 3\nwidth = 5\nl2 = 34\nseed = 7\nl3 = 2\n",
                 "'l3 = 2'");
}

/* Every checkpoint file in dir and no .tmp anywhere in it. */
static void assert_untouched(const char *dir, const char *names,
                             const unsigned char *bytes, long len)
{
    char got[1024], path[512];
    unsigned char *now;
    long now_len;

    dir_names(dir, got, sizeof got);
    assert_string_equal(got, names);
    assert_null(strstr(got, ".tmp"));
    snprintf(path, sizeof path, "%s/ckpt-00000001.h5", dir);
    now = harness_slurp(path, &now_len);
    assert_int_equal(now_len, len);
    assert_memory_equal(now, bytes, (size_t)len);
    free(now);
}

/* The target directory lies under a regular file (an old checkpoint):
 * the write fails and the old checkpoints keep every byte. */
static void test_write_under_regular_file_fails(void **state)
{
    Fixture *fx = *state;
    CkptState w = fx->s;
    char dir[256], first[512], bad[600], err[1024] = "";
    unsigned char *bytes;
    long len;

    fresh_dir("ckpt_fail", dir, sizeof dir);
    w.iteration = 1;
    write_ok(dir, 5, &w);
    w.iteration = 2;
    write_ok(dir, 5, &w);
    snprintf(first, sizeof first, "%s/ckpt-00000001.h5", dir);
    bytes = harness_slurp(first, &len);
    snprintf(bad, sizeof bad, "%s/sub", first);
    w.iteration = 3;
    assert_int_equal(ckpt_write(bad, 1, &w, err, sizeof err), -1);
    assert_non_null(strstr(err, bad));
    assert_untouched(dir, "ckpt-00000001.h5,ckpt-00000002.h5,", bytes,
                     len);
    free(bytes);
}

/* A non-empty directory occupies the final name, so the rename fails
 * after the whole .tmp was written: the .tmp must be gone, keep = 1
 * must not have pruned anything. */
static void test_failed_rename_leaves_no_tmp(void **state)
{
    Fixture *fx = *state;
    CkptState w = fx->s;
    char dir[256], block[512], err[1024] = "";
    unsigned char *bytes;
    long len;

    fresh_dir("ckpt_rename", dir, sizeof dir);
    w.iteration = 1;
    write_ok(dir, 5, &w);
    snprintf(block, sizeof block, "%s/ckpt-00000001.h5", dir);
    bytes = harness_slurp(block, &len);
    snprintf(block, sizeof block, "%s/ckpt-00000004.h5", dir);
    assert_int_equal(mkdir(block, 0777), 0);
    touch(block, "x");
    w.iteration = 4;
    assert_int_equal(ckpt_write(dir, 1, &w, err, sizeof err), -1);
    assert_non_null(strstr(err, "rename"));
    assert_untouched(dir, "ckpt-00000001.h5,ckpt-00000004.h5,", bytes,
                     len);
    free(bytes);
}

static void test_bad_state_is_refused(void **state)
{
    Fixture *fx = *state;
    CkptState w = fx->s;
    char dir[256], err[1024] = "", names[256];

    fresh_dir("ckpt_badstate", dir, sizeof dir);
    w.Yprev = (double *[NODES]){ NULL, NULL, NULL };
    assert_int_equal(ckpt_write(dir, 1, &w, err, sizeof err), -1);
    assert_non_null(strstr(err, "have_yprev"));
    w = fx->s;
    assert_int_equal(ckpt_write(dir, 0, &w, err, sizeof err), -1);
    assert_non_null(strstr(err, "keep"));
    dir_names(dir, names, sizeof names);
    assert_string_equal(names, "");
}

#define TEST(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        TEST(test_round_trip_is_bitwise),
        TEST(test_round_trip_of_sparse_state),
        TEST(test_on_disk_orientation),
        TEST(test_keep_two_and_list_newest_first),
        TEST(test_list_skips_other_names),
        TEST(test_list_of_missing_dir_is_empty),
        TEST(test_truncated_file_is_refused),
        TEST(test_changed_byte_is_refused),
        TEST(test_other_version_is_refused),
        TEST(test_missing_data_set_is_refused),
        TEST(test_shape_mismatch_is_refused),
        TEST(test_check_refuses_other_run),
        TEST(test_write_under_regular_file_fails),
        TEST(test_failed_rename_leaves_no_tmp),
        TEST(test_bad_state_is_refused),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
