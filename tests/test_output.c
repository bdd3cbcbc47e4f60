/*
 * test_output.c - the weights file and summary.json: round trips, the
 * on-disk orientation read back with the raw HDF5 API, refusal of bad
 * files, and that a failed write never harms an existing file.
 *
 * Run from the repository root; scratch files go to tests/tmp/.
 */
#include <errno.h>
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

#include <cJSON.h>
#include <hdf5.h>

#include "config.h"
#include "output.h"
#include "harness.h"

#define TMP_DIR "tests/tmp"
#define NODES 3
#define WIDTH 5

/* A_j(r, c), distinct for every (j, r, c) and not exactly representable
 * in few digits, so a transposition or rounding would show. */
static double entry(int j, int r, int c)
{
    return 100.0 * j + 10.0 * r + c + 1.0 / (3.0 + j + r * 7.0 + c * 11.0);
}

typedef struct {
    NlpcConfig cfg;
    double *A[NODES];
} Fixture;

static int setup(void **state)
{
    Fixture *fx = calloc(1, sizeof *fx);

    if (fx == NULL || (mkdir(TMP_DIR, 0777) != 0 && errno != EEXIST))
        return -1;
    cfg_defaults(&fx->cfg);
    fx->cfg.nodes = NODES;
    fx->cfg.width = WIDTH;
    for (int j = 0; j < NODES; j++) {
        fx->A[j] = malloc(WIDTH * WIDTH * sizeof(double));
        if (fx->A[j] == NULL)
            return -1;
        for (int r = 0; r < WIDTH; r++)
            for (int c = 0; c < WIDTH; c++)
                fx->A[j][r + c * WIDTH] = entry(j, r, c);
    }
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    Fixture *fx = *state;

    for (int j = 0; j < NODES; j++)
        free(fx->A[j]);
    free(fx);
    return 0;
}

static void write_ok(Fixture *fx, const char *path)
{
    char err[512] = "";

    remove(path);
    if (out_write_weights(path, &fx->cfg, fx->A, 42, err, sizeof err) != 0)
        fail_msg("out_write_weights: %s", err);
}

static void free_weights(double **A, int nodes)
{
    for (int j = 0; j < nodes; j++)
        free(A[j]);
    free(A);
}

static int file_exists(const char *path)
{
    return access(path, F_OK) == 0;
}

static void test_weights_round_trip_bitwise(void **state)
{
    Fixture *fx = *state;
    const char *path = TMP_DIR "/round.h5";
    char err[512] = "";
    double **B = NULL;
    int nodes = 0, width = 0;

    write_ok(fx, path);
    assert_int_equal(out_read_weights(path, &nodes, &width, &B, err,
                                      sizeof err), 0);
    assert_int_equal(nodes, NODES);
    assert_int_equal(width, WIDTH);
    for (int j = 0; j < NODES; j++)
        assert_memory_equal(B[j], fx->A[j], WIDTH * WIDTH * sizeof(double));
    assert_false(file_exists(TMP_DIR "/round.h5.tmp"));
    free_weights(B, nodes);
}

/* Read /weights/A1 row-major with plain HDF5: [r][c] must be A_1(r, c). */
static void test_dataset_is_row_major_as_in_math(void **state)
{
    Fixture *fx = *state;
    const char *path = TMP_DIR "/orient.h5";
    double raw[WIDTH][WIDTH];
    hid_t file, dset;

    write_ok(fx, path);
    file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    assert_true(file >= 0);
    dset = H5Dopen2(file, "/weights/A1", H5P_DEFAULT);
    assert_true(dset >= 0);
    assert_true(H5Dread(dset, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL,
                        H5P_DEFAULT, raw) >= 0);
    for (int r = 0; r < WIDTH; r++)
        for (int c = 0; c < WIDTH; c++)
            assert_true(raw[r][c] == entry(1, r, c));
    assert_true(H5Dclose(dset) >= 0);
    assert_true(H5Fclose(file) >= 0);
}

static int read_int_attr(hid_t file, const char *name)
{
    hid_t attr = H5Aopen(file, name, H5P_DEFAULT);
    int v = -12345;

    assert_true(attr >= 0);
    assert_true(H5Aread(attr, H5T_NATIVE_INT, &v) >= 0);
    assert_true(H5Aclose(attr) >= 0);
    return v;
}

/* The string attribute `name`, malloc'd, whatever its stored length. */
static char *read_str_attr(hid_t file, const char *name)
{
    hid_t attr = H5Aopen(file, name, H5P_DEFAULT);
    hid_t type;
    size_t size;
    char *s;

    assert_true(attr >= 0);
    type = H5Aget_type(attr);
    assert_true(type >= 0);
    assert_int_equal(H5Tget_class(type), H5T_STRING);
    assert_false(H5Tis_variable_str(type));
    size = H5Tget_size(type);
    s = calloc(size + 1, 1);
    assert_non_null(s);
    assert_true(H5Aread(attr, type, s) >= 0);
    assert_true(H5Tclose(type) >= 0);
    assert_true(H5Aclose(attr) >= 0);
    return s;
}

static char *config_text(const NlpcConfig *cfg)
{
    char probe[1];
    size_t need = cfg_to_string(cfg, probe, sizeof probe);
    char *text = malloc(need + 1);

    assert_non_null(text);
    cfg_to_string(cfg, text, need + 1);
    return text;
}

static void test_file_has_version_shape_and_config(void **state)
{
    Fixture *fx = *state;
    const char *path = TMP_DIR "/attrs.h5";
    char *want = config_text(&fx->cfg);
    char *got;
    hid_t file;

    write_ok(fx, path);
    file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    assert_true(file >= 0);
    assert_int_equal(read_int_attr(file, "format_version"), 1);
    assert_int_equal(read_int_attr(file, "nodes"), NODES);
    assert_int_equal(read_int_attr(file, "width"), WIDTH);
    assert_int_equal(read_int_attr(file, "iteration"), 42);
    got = read_str_attr(file, "config");
    assert_true(strlen(want) > 0);
    assert_string_equal(got, want);
    assert_true(H5Fclose(file) >= 0);
    free(got);
    free(want);
}

static void test_truncated_file_is_refused(void **state)
{
    Fixture *fx = *state;
    const char *path = TMP_DIR "/whole.h5";
    const char *cut = TMP_DIR "/truncated.h5";
    char err[512] = "";
    double **B = NULL;
    int nodes = 0, width = 0;
    long len;
    unsigned char *bytes;
    FILE *f;

    write_ok(fx, path);
    bytes = harness_slurp(path, &len);
    f = fopen(cut, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(bytes, 1, (size_t)len / 2, f), (size_t)len / 2);
    assert_int_equal(fclose(f), 0);
    free(bytes);
    assert_int_equal(out_read_weights(cut, &nodes, &width, &B, err,
                                      sizeof err), -1);
    assert_null(B);
    assert_non_null(strstr(err, cut));
    assert_non_null(strstr(err, "truncated"));
}

static void test_missing_file_is_refused(void **state)
{
    const char *path = TMP_DIR "/never_written.h5";
    char err[512] = "";
    double **B = NULL;
    int nodes = 0, width = 0;

    (void)state;
    remove(path);
    assert_int_equal(out_read_weights(path, &nodes, &width, &B, err,
                                      sizeof err), -1);
    assert_non_null(strstr(err, path));
}

static void test_write_into_missing_dir_fails_cleanly(void **state)
{
    Fixture *fx = *state;
    const char *path = TMP_DIR "/no_such_dir/w.h5";
    char err[512] = "";

    assert_int_equal(out_write_weights(path, &fx->cfg, fx->A, 1, err,
                                       sizeof err), -1);
    assert_non_null(strstr(err, "no_such_dir/w.h5.tmp"));
    assert_false(file_exists(TMP_DIR "/no_such_dir/w.h5.tmp"));
    assert_false(file_exists(path));
}

/* Block the temporary name with a directory so that creating it fails;
 * the good file already at `path` must keep every byte. */
static void test_failed_write_keeps_old_file(void **state)
{
    Fixture *fx = *state;
    const char *path = TMP_DIR "/keep.h5";
    const char *tmp = TMP_DIR "/keep.h5.tmp";
    char err[512] = "";
    unsigned char *before, *after;
    long len_before, len_after;

    write_ok(fx, path);
    before = harness_slurp(path, &len_before);
    rmdir(tmp);
    assert_int_equal(mkdir(tmp, 0777), 0);
    fx->A[0][0] = -1.0;
    assert_int_equal(out_write_weights(path, &fx->cfg, fx->A, 7, err,
                                       sizeof err), -1);
    assert_true(strlen(err) > 0);
    after = harness_slurp(path, &len_after);
    assert_int_equal(len_after, len_before);
    assert_memory_equal(after, before, (size_t)len_before);
    rmdir(tmp);
    free(before);
    free(after);
}

static void put_int_attr(hid_t file, const char *name, int v)
{
    hid_t space = H5Screate(H5S_SCALAR);
    hid_t attr = H5Acreate2(file, name, H5T_NATIVE_INT, space,
                            H5P_DEFAULT, H5P_DEFAULT);

    assert_true(space >= 0 && attr >= 0);
    assert_true(H5Awrite(attr, H5T_NATIVE_INT, &v) >= 0);
    assert_true(H5Aclose(attr) >= 0);
    assert_true(H5Sclose(space) >= 0);
}

/* A hand-made file, shaped right but claiming format_version 2. */
static void write_version_2(const char *path)
{
    double zeros[WIDTH * WIDTH] = { 0 };
    hsize_t dims[2] = { WIDTH, WIDTH };
    hid_t file = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    hid_t group, space, dset;
    char name[8];

    assert_true(file >= 0);
    put_int_attr(file, "format_version", 2);
    put_int_attr(file, "nodes", 1);
    put_int_attr(file, "width", WIDTH);
    group = H5Gcreate2(file, "weights", H5P_DEFAULT, H5P_DEFAULT,
                       H5P_DEFAULT);
    space = H5Screate_simple(2, dims, NULL);
    assert_true(group >= 0 && space >= 0);
    snprintf(name, sizeof name, "A0");
    dset = H5Dcreate2(group, name, H5T_NATIVE_DOUBLE, space, H5P_DEFAULT,
                      H5P_DEFAULT, H5P_DEFAULT);
    assert_true(dset >= 0);
    assert_true(H5Dwrite(dset, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL,
                         H5P_DEFAULT, zeros) >= 0);
    assert_true(H5Dclose(dset) >= 0 && H5Sclose(space) >= 0);
    assert_true(H5Gclose(group) >= 0 && H5Fclose(file) >= 0);
}

static void test_other_format_version_is_refused(void **state)
{
    const char *path = TMP_DIR "/version2.h5";
    char err[512] = "";
    double **B = NULL;
    int nodes = 0, width = 0;

    (void)state;
    write_version_2(path);
    assert_int_equal(out_read_weights(path, &nodes, &width, &B, err,
                                      sizeof err), -1);
    assert_null(B);
    assert_non_null(strstr(err, path));
    assert_non_null(strstr(err, "another version"));
}

static cJSON *parse_file(const char *path)
{
    long len;
    unsigned char *text = harness_slurp(path, &len);
    cJSON *json = cJSON_Parse((const char *)text);

    free(text);
    assert_non_null(json);
    return json;
}

static double number(const cJSON *json, const char *name)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(json, name);

    assert_true(cJSON_IsNumber(item));
    return item->valuedouble;
}

/* cJSON 1.7 prints with %.15g and falls back to %.17g when that does not
 * read back to the same double, so the round trip must be exact. */
static void test_summary_round_trips(void **state)
{
    Fixture *fx = *state;
    const char *path = TMP_DIR "/summary.json";
    OutSummary s = { .iterations_done = 500, .train_seconds = 12.5,
                     .eval_seconds = 3.25, .final_goal_error = 0.0123456789,
                     .train_accuracy = 0.99, .val_accuracy = -1.0,
                     .test_accuracy = 1.0 / 3.0, .ranks = 6 };
    char err[512] = "";
    char *want = config_text(&fx->cfg);
    cJSON *json;

    remove(path);
    assert_int_equal(out_write_summary(path, &fx->cfg, &s, err, sizeof err),
                     0);
    assert_false(file_exists(TMP_DIR "/summary.json.tmp"));
    json = parse_file(path);
    assert_true(number(json, "test_accuracy") == 1.0 / 3.0);
    assert_true(number(json, "final_goal_error") == 0.0123456789);
    assert_true(number(json, "nodes") == NODES);
    assert_true(number(json, "iterations_done") == 500);
    assert_true(number(json, "ranks") == 6);
    assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(
        json, "validation_accuracy")));
    assert_string_equal(cJSON_GetStringValue(
        cJSON_GetObjectItemCaseSensitive(json, "mode")),
        fx->cfg.mode == CFG_MODE_ASYNC ? "async" : "sync");
    assert_string_equal(cJSON_GetStringValue(
        cJSON_GetObjectItemCaseSensitive(json, "config")), want);
    cJSON_Delete(json);
    free(want);
}

static void test_summary_keeps_validation_accuracy(void **state)
{
    Fixture *fx = *state;
    const char *path = TMP_DIR "/summary_val.json";
    OutSummary s = { .iterations_done = 1, .train_accuracy = 0.5,
                     .val_accuracy = 0.875, .test_accuracy = 0.75,
                     .ranks = 1 };
    char err[512] = "";
    cJSON *json;

    assert_int_equal(out_write_summary(path, &fx->cfg, &s, err, sizeof err),
                     0);
    json = parse_file(path);
    assert_true(number(json, "validation_accuracy") == 0.875);
    cJSON_Delete(json);
}

static void test_summary_into_missing_dir_fails(void **state)
{
    Fixture *fx = *state;
    OutSummary s = { 0 };
    char err[512] = "";

    assert_int_equal(out_write_summary(TMP_DIR "/no_such_dir/s.json",
                                       &fx->cfg, &s, err, sizeof err), -1);
    assert_non_null(strstr(err, "no_such_dir"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_weights_round_trip_bitwise,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_dataset_is_row_major_as_in_math,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_file_has_version_shape_and_config, setup, teardown),
        cmocka_unit_test_setup_teardown(test_truncated_file_is_refused,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_file_is_refused,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_write_into_missing_dir_fails_cleanly, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failed_write_keeps_old_file,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_other_format_version_is_refused,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_summary_round_trips,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_summary_keeps_validation_accuracy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_summary_into_missing_dir_fails,
                                        setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
