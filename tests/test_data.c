/*
 * test_data.c - IDX reading, data_load's checks, the validation split and
 * per-image standardisation, on small synthetic IDX files written under
 * tests/tmp/ (run from the repository root).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sys/stat.h>
#include <zlib.h>

#include "config.h"
#include "data.h"

#define TMP "tests/tmp"
#define ROWS 2
#define COLS 3
#define DIM (ROWS * COLS)
#define ERRLEN 1024

/* ---- writing synthetic files ------------------------------------------ */

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* Write n bytes raw, or through zlib's gzip writer when gz is set. */
static void write_bytes(const char *path, int gz, const uint8_t *b,
                        size_t n)
{
    if (gz) {
        gzFile f = gzopen(path, "wb");

        assert_non_null(f);
        assert_int_equal(gzwrite(f, b, (unsigned)n), (int)n);
        assert_int_equal(gzclose(f), Z_OK);
    } else {
        FILE *f = fopen(path, "wb");

        assert_non_null(f);
        assert_int_equal(fwrite(b, 1, n, f), n);
        assert_int_equal(fclose(f), 0);
    }
}

/* Pixel j of synthetic image k: pixel 0 is k itself, so a column tells
 * which image it came from. */
static uint8_t pixel(int k, int j)
{
    return (uint8_t)(j == 0 ? k : (k * 31 + j * 17 + 5) % 256);
}

/* The bytes of an IDX3 file of n images of rows x cols, *len long; the
 * buffer has 64 spare zero bytes after them for trailing-byte tests. */
static uint8_t *idx3(uint32_t magic, int n, int rows, int cols, size_t *len)
{
    size_t dim = (size_t)rows * (size_t)cols;
    uint8_t *b = calloc(16 + (size_t)n * dim + 64, 1);

    assert_non_null(b);
    put32(b, magic);
    put32(b + 4, (uint32_t)n);
    put32(b + 8, (uint32_t)rows);
    put32(b + 12, (uint32_t)cols);
    for (int k = 0; k < n; k++)
        for (size_t j = 0; j < dim; j++)
            b[16 + (size_t)k * dim + j] = pixel(k, (int)j);
    *len = 16 + (size_t)n * dim;
    return b;
}

/* The bytes of an IDX1 file of n labels k % 10, with 64 spare bytes. */
static uint8_t *idx1(uint32_t magic, int n, size_t *len)
{
    uint8_t *b = calloc(8 + (size_t)n + 64, 1);

    assert_non_null(b);
    put32(b, magic);
    put32(b + 4, (uint32_t)n);
    for (int k = 0; k < n; k++)
        b[8 + k] = (uint8_t)(k % DATA_CLASSES);
    *len = 8 + (size_t)n;
    return b;
}

static void write_images(const char *path, int gz, int n, int rows,
                         int cols)
{
    size_t len;
    uint8_t *b = idx3(0x803, n, rows, cols, &len);

    write_bytes(path, gz, b, len);
    free(b);
}

static void write_labels(const char *path, int gz, int n)
{
    size_t len;
    uint8_t *b = idx1(0x801, n, &len);

    write_bytes(path, gz, b, len);
    free(b);
}

/* The four files of a custom set in dir: ntrain/ntest images of DIM. */
static void write_set(const char *dir, int ntrain, int ntest, int gz)
{
    char p[256];
    const char *sfx = gz ? ".gz" : "";

    mkdir(dir, 0755);
    snprintf(p, sizeof p, "%s/train-images-idx3-ubyte%s", dir, sfx);
    write_images(p, gz, ntrain, ROWS, COLS);
    snprintf(p, sizeof p, "%s/train-labels-idx1-ubyte%s", dir, sfx);
    write_labels(p, gz, ntrain);
    snprintf(p, sizeof p, "%s/t10k-images-idx3-ubyte%s", dir, sfx);
    write_images(p, gz, ntest, ROWS, COLS);
    snprintf(p, sizeof p, "%s/t10k-labels-idx1-ubyte%s", dir, sfx);
    write_labels(p, gz, ntest);
}

/* The default configuration with every key data_load reads set here, so
 * that the tests do not depend on the defaults. */
static NlpcConfig custom_cfg(const char *dir)
{
    NlpcConfig c;

    cfg_defaults(&c);
    c.train_limit = 0;
    c.test_limit = 0;
    c.validation = 0;
    c.standardise = 0;
    snprintf(c.data_set, sizeof c.data_set, "custom");
    snprintf(c.data_dir, sizeof c.data_dir, "%s", dir);
    c.width = DIM;
    c.seed = 1;
    return c;
}

static int setup_tmp(void **state)
{
    (void)state;
    mkdir(TMP, 0755);
    return 0;
}

/* Does err contain s? Prints err on failure to help the reader. */
static void assert_mentions(const char *err, const char *s)
{
    if (!strstr(err, s)) {
        print_error("error \"%s\" does not mention \"%s\"\n", err, s);
        fail();
    }
}

/* ---- IDX reading ------------------------------------------------------ */

static void check_images_file(const char *path)
{
    uint8_t *pix = NULL;
    int n, r, c;
    char err[ERRLEN] = "";

    assert_int_equal(data_idx_read_images(path, &pix, &n, &r, &c, err,
                                          sizeof err), 0);
    assert_int_equal(n, 7);
    assert_int_equal(r, ROWS);
    assert_int_equal(c, COLS);
    for (int k = 0; k < n; k++)
        for (int j = 0; j < DIM; j++)
            assert_int_equal(pix[k * DIM + j], pixel(k, j));
    free(pix);
}

static void raw_images_read_back_exact_bytes(void **state)
{
    (void)state;
    write_images(TMP "/raw-images", 0, 7, ROWS, COLS);
    check_images_file(TMP "/raw-images");
}

static void gzip_images_read_back_same_bytes(void **state)
{
    (void)state;
    write_images(TMP "/gz-images.gz", 1, 7, ROWS, COLS);
    check_images_file(TMP "/gz-images.gz");
}

static void labels_read_back(void **state)
{
    uint8_t *lab = NULL;
    int n;
    char err[ERRLEN] = "";

    (void)state;
    write_labels(TMP "/labels.gz", 1, 13);
    assert_int_equal(data_idx_read_labels(TMP "/labels.gz", &lab, &n, err,
                                          sizeof err), 0);
    assert_int_equal(n, 13);
    for (int k = 0; k < n; k++)
        assert_int_equal(lab[k], k % DATA_CLASSES);
    free(lab);
}

/* Expect reading images from path to fail with a message naming the path
 * and mentioning `word`. */
static void expect_images_error(const char *path, const char *word)
{
    uint8_t *pix = (uint8_t *)1;
    int n, r, c;
    char err[ERRLEN] = "";

    assert_int_equal(data_idx_read_images(path, &pix, &n, &r, &c, err,
                                          sizeof err), -1);
    assert_null(pix);
    assert_mentions(err, path);
    assert_mentions(err, word);
}

static void truncated_images_are_an_error(void **state)
{
    size_t len;
    uint8_t *b = idx3(0x803, 7, ROWS, COLS, &len);

    (void)state;
    write_bytes(TMP "/short-images", 0, b, len - 5);
    expect_images_error(TMP "/short-images", "truncated");
    write_bytes(TMP "/short-header", 0, b, 10);
    expect_images_error(TMP "/short-header", "truncated");
    free(b);
}

static void truncated_gzip_stream_is_an_error(void **state)
{
    FILE *f;
    uint8_t buf[4096];
    size_t n;

    (void)state;
    write_images(TMP "/cut.gz", 1, 7, ROWS, COLS);
    f = fopen(TMP "/cut.gz", "rb");
    assert_non_null(f);
    n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    write_bytes(TMP "/cut.gz", 0, buf, n / 2);
    expect_images_error(TMP "/cut.gz", "truncated");
}

static void corrupt_gzip_is_an_error(void **state)
{
    FILE *f;
    uint8_t buf[4096];
    size_t n;

    (void)state;
    write_images(TMP "/bad.gz", 1, 7, ROWS, COLS);
    f = fopen(TMP "/bad.gz", "rb");
    assert_non_null(f);
    n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    for (size_t i = 10; i < n - 8; i++)     /* wreck the deflate data */
        buf[i] = 0xff;
    write_bytes(TMP "/bad.gz", 0, buf, n);
    expect_images_error(TMP "/bad.gz", "gzip");
}

static void wrong_magic_is_an_error(void **state)
{
    size_t len;
    uint8_t *b = idx3(0x801, 7, ROWS, COLS, &len);

    (void)state;
    write_bytes(TMP "/magic-images", 0, b, len);
    expect_images_error(TMP "/magic-images", "magic");
    free(b);
}

static void trailing_bytes_are_an_error(void **state)
{
    size_t len;
    uint8_t *b = idx3(0x803, 7, ROWS, COLS, &len);

    (void)state;
    write_bytes(TMP "/long-images", 0, b, len + 3);
    expect_images_error(TMP "/long-images", "trailing");
    write_bytes(TMP "/long-images.gz", 1, b, len + 1);
    expect_images_error(TMP "/long-images.gz", "trailing");
    free(b);
}

static void zero_or_huge_dimensions_are_an_error(void **state)
{
    size_t len;
    uint8_t *b = idx3(0x803, 7, ROWS, COLS, &len);

    (void)state;
    put32(b + 8, 0);
    write_bytes(TMP "/zero-rows", 0, b, len);
    expect_images_error(TMP "/zero-rows", "positive");
    put32(b + 8, 5000);
    put32(b + 12, 5000);
    write_bytes(TMP "/huge-image", 0, b, len);
    expect_images_error(TMP "/huge-image", "limits");
    free(b);
}

static void label_out_of_range_is_an_error(void **state)
{
    size_t len;
    uint8_t *b = idx1(0x801, 5, &len), *lab = (uint8_t *)1;
    int n;
    char err[ERRLEN] = "";

    (void)state;
    b[8 + 3] = DATA_CLASSES;
    write_bytes(TMP "/bad-labels", 0, b, len);
    assert_int_equal(data_idx_read_labels(TMP "/bad-labels", &lab, &n, err,
                                          sizeof err), -1);
    assert_null(lab);
    assert_mentions(err, TMP "/bad-labels");
    assert_mentions(err, "out of range");
    free(b);
}

static void missing_file_is_an_error(void **state)
{
    (void)state;
    expect_images_error(TMP "/no-such-file", "cannot open");
}

/* ---- data_load -------------------------------------------------------- */

static void expect_load_error(const NlpcConfig *c, const char *w1,
                              const char *w2)
{
    DataSplit d;
    char err[ERRLEN] = "";

    assert_int_equal(data_load(c, &d, err, sizeof err), -1);
    assert_null(d.train.x);
    assert_null(d.test.x);
    assert_mentions(err, w1);
    if (w2)
        assert_mentions(err, w2);
}

static void load_reads_all_images_in_order(void **state)
{
    NlpcConfig c = custom_cfg(TMP "/plain");
    DataSplit d;
    char err[ERRLEN] = "";

    (void)state;
    write_set(TMP "/plain", 9, 4, 0);
    assert_int_equal(data_load(&c, &d, err, sizeof err), 0);
    assert_int_equal(d.train.count, 9);
    assert_int_equal(d.test.count, 4);
    assert_int_equal(d.val.count, 0);
    assert_int_equal(d.train.dim, DIM);
    for (int k = 0; k < 9; k++) {
        assert_int_equal(d.train.y[k], k % DATA_CLASSES);
        for (int j = 0; j < DIM; j++)
            assert_true(d.train.x[k * DIM + j] == pixel(k, j) / 255.0);
    }
    data_free(&d);
}

static void load_finds_gzip_files_under_set_dir(void **state)
{
    NlpcConfig c = custom_cfg(TMP "/root");
    DataSplit d;
    char err[ERRLEN] = "";

    (void)state;
    mkdir(TMP "/root", 0755);
    write_set(TMP "/root/fashion", 8, 3, 1);
    snprintf(c.data_set, sizeof c.data_set, "fashion");
    assert_int_equal(data_load(&c, &d, err, sizeof err), 0);
    assert_int_equal(d.train.count, 8);
    assert_int_equal(d.test.count, 3);
    data_free(&d);
}

static void load_missing_files_names_paths_and_make_data(void **state)
{
    NlpcConfig c = custom_cfg(TMP "/root");

    (void)state;
    snprintf(c.data_set, sizeof c.data_set, "mnist");
    expect_load_error(&c, TMP "/root/mnist/train-images-idx3-ubyte",
                      "make data");
    expect_load_error(&c, TMP "/root/mnist/train-images-idx3-ubyte.gz",
                      NULL);
}

static void load_unknown_set_is_an_error(void **state)
{
    NlpcConfig c = custom_cfg(TMP "/root");

    (void)state;
    snprintf(c.data_set, sizeof c.data_set, "cifar");
    expect_load_error(&c, "[data] set", "cifar");
}

static void load_count_mismatch_names_both_files(void **state)
{
    NlpcConfig c = custom_cfg(TMP "/mismatch");

    (void)state;
    write_set(TMP "/mismatch", 9, 4, 0);
    write_labels(TMP "/mismatch/train-labels-idx1-ubyte", 0, 8);
    expect_load_error(&c, TMP "/mismatch/train-images-idx3-ubyte",
                      TMP "/mismatch/train-labels-idx1-ubyte");
}

static void load_width_mismatch_names_width(void **state)
{
    NlpcConfig c = custom_cfg(TMP "/plain");

    (void)state;
    write_set(TMP "/plain", 9, 4, 0);
    c.width = 784;
    expect_load_error(&c, "[network] width", "6");
}

static void load_limits_take_first_images(void **state)
{
    NlpcConfig c = custom_cfg(TMP "/plain");
    DataSplit d;
    char err[ERRLEN] = "";

    (void)state;
    write_set(TMP "/plain", 9, 4, 0);
    c.train_limit = 5;
    c.test_limit = 2;
    assert_int_equal(data_load(&c, &d, err, sizeof err), 0);
    assert_int_equal(d.train.count, 5);
    assert_int_equal(d.test.count, 2);
    for (int k = 0; k < 5; k++)
        assert_true(d.train.x[k * DIM] == k / 255.0);
    data_free(&d);
}

static void load_limit_beyond_file_is_an_error(void **state)
{
    NlpcConfig c = custom_cfg(TMP "/plain");

    (void)state;
    write_set(TMP "/plain", 9, 4, 0);
    c.train_limit = 10;
    expect_load_error(&c, "[data] train_limit", NULL);
    c.train_limit = 0;
    c.test_limit = 5;
    expect_load_error(&c, "[data] test_limit", NULL);
}

static void load_validation_too_large_is_an_error(void **state)
{
    NlpcConfig c = custom_cfg(TMP "/plain");

    (void)state;
    write_set(TMP "/plain", 9, 4, 0);
    c.validation = 9;
    expect_load_error(&c, "[data] validation", NULL);
    c.train_limit = 4;
    c.validation = 4;
    expect_load_error(&c, "[data] validation", NULL);
}

/* ---- the validation split --------------------------------------------- */

#define SPLIT_N 40
#define SPLIT_V 10

/* Check that every column of s is an unchanged original image, in
 * increasing original order, and mark the images seen in `seen`. */
static void check_columns(const DataSet *s, int *seen)
{
    int last = -1;

    for (int k = 0; k < s->count; k++) {
        int id = (int)(s->x[k * DIM] * 255.0 + 0.5);

        assert_in_range(id, 0, SPLIT_N - 1);
        assert_true(id > last);
        last = id;
        seen[id]++;
        assert_int_equal(s->y[k], id % DATA_CLASSES);
        for (int j = 0; j < DIM; j++)
            assert_true(s->x[k * DIM + j] == pixel(id, j) / 255.0);
    }
}

/* Load with seed and return in ids[] the validation images' ids. */
static void split_ids(unsigned long seed, int *ids)
{
    NlpcConfig c = custom_cfg(TMP "/split");
    DataSplit d;
    char err[ERRLEN] = "";
    int seen[SPLIT_N] = { 0 };

    c.validation = SPLIT_V;
    c.seed = seed;
    assert_int_equal(data_load(&c, &d, err, sizeof err), 0);
    assert_int_equal(d.val.count, SPLIT_V);
    assert_int_equal(d.train.count, SPLIT_N - SPLIT_V);
    check_columns(&d.train, seen);
    check_columns(&d.val, seen);
    for (int i = 0; i < SPLIT_N; i++)
        assert_int_equal(seen[i], 1);
    for (int k = 0; k < SPLIT_V; k++)
        ids[k] = (int)(d.val.x[k * DIM] * 255.0 + 0.5);
    data_free(&d);
}

static void split_partitions_training_set(void **state)
{
    int ids[SPLIT_V];

    (void)state;
    write_set(TMP "/split", SPLIT_N, 3, 0);
    split_ids(7, ids);
}

static void split_same_seed_same_split(void **state)
{
    int a[SPLIT_V], b[SPLIT_V];

    (void)state;
    write_set(TMP "/split", SPLIT_N, 3, 0);
    split_ids(7, a);
    split_ids(7, b);
    assert_memory_equal(a, b, sizeof a);
}

static void split_other_seed_other_split(void **state)
{
    int a[SPLIT_V], b[SPLIT_V];

    (void)state;
    write_set(TMP "/split", SPLIT_N, 3, 0);
    split_ids(7, a);
    split_ids(8, b);
    assert_memory_not_equal(a, b, sizeof a);
}

/* ---- standardisation -------------------------------------------------- */

/* The tolerance: a column of DIM values is summed in double precision, so
 * the rounding error of the mean and variance is a few units in the last
 * place times DIM, around 1e-15; 1e-12 leaves a wide margin yet catches
 * any real mistake (such as a sample instead of population variance, off
 * by DIM/(DIM-1) = 1.2). */
#define STD_TOL 1e-12

static void standardise_gives_zero_mean_unit_variance(void **state)
{
    NlpcConfig c = custom_cfg(TMP "/plain");
    DataSplit d;
    char err[ERRLEN] = "";

    (void)state;
    write_set(TMP "/plain", 9, 4, 0);
    c.standardise = 1;
    assert_int_equal(data_load(&c, &d, err, sizeof err), 0);
    for (int k = 0; k < d.train.count; k++) {
        const double *x = d.train.x + k * DIM;
        double m = 0.0, v = 0.0;

        for (int j = 0; j < DIM; j++)
            m += x[j];
        m /= DIM;
        for (int j = 0; j < DIM; j++)
            v += (x[j] - m) * (x[j] - m);
        v /= DIM;
        assert_true(m > -STD_TOL && m < STD_TOL);
        assert_true(v > 1.0 - STD_TOL && v < 1.0 + STD_TOL);
    }
    data_free(&d);
}

static void standardise_constant_image_gives_zeros(void **state)
{
    double x[2 * DIM];
    DataSet s = { 2, DIM, x, NULL };

    (void)state;
    for (int j = 0; j < DIM; j++) {
        x[j] = 0.1;
        x[DIM + j] = j;
    }
    data_standardise(&s);
    for (int j = 0; j < DIM; j++)
        assert_true(x[j] == 0.0);
    assert_true(x[DIM] < 0.0 && x[2 * DIM - 1] > 0.0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(raw_images_read_back_exact_bytes),
        cmocka_unit_test(gzip_images_read_back_same_bytes),
        cmocka_unit_test(labels_read_back),
        cmocka_unit_test(truncated_images_are_an_error),
        cmocka_unit_test(truncated_gzip_stream_is_an_error),
        cmocka_unit_test(corrupt_gzip_is_an_error),
        cmocka_unit_test(wrong_magic_is_an_error),
        cmocka_unit_test(trailing_bytes_are_an_error),
        cmocka_unit_test(zero_or_huge_dimensions_are_an_error),
        cmocka_unit_test(label_out_of_range_is_an_error),
        cmocka_unit_test(missing_file_is_an_error),
        cmocka_unit_test(load_reads_all_images_in_order),
        cmocka_unit_test(load_finds_gzip_files_under_set_dir),
        cmocka_unit_test(load_missing_files_names_paths_and_make_data),
        cmocka_unit_test(load_unknown_set_is_an_error),
        cmocka_unit_test(load_count_mismatch_names_both_files),
        cmocka_unit_test(load_width_mismatch_names_width),
        cmocka_unit_test(load_limits_take_first_images),
        cmocka_unit_test(load_limit_beyond_file_is_an_error),
        cmocka_unit_test(load_validation_too_large_is_an_error),
        cmocka_unit_test(split_partitions_training_set),
        cmocka_unit_test(split_same_seed_same_split),
        cmocka_unit_test(split_other_seed_other_split),
        cmocka_unit_test(standardise_gives_zero_mean_unit_variance),
        cmocka_unit_test(standardise_constant_image_gives_zeros),
    };

    return cmocka_run_group_tests(tests, setup_tmp, NULL);
}
