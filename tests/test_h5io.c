/*
 * test_h5io.c - the shared HDF5 plumbing on its own: a matrix lands
 * transposed on disk (checked with the raw HDF5 API) and comes back
 * bit for bit, attributes refuse the wrong count, a 1-d list of any
 * length is measured, and publishing reports the step that failed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "h5io.h"

#define TMP_DIR "tests/tmp"
#define FILE_H5 TMP_DIR "/h5io.h5"

/* one file for the whole group; HDF5's error printing off meanwhile */
static hid_t file = -1;
static H5ioQuiet quiet;

static int setup(void **state)
{
    (void)state;
    if (mkdir(TMP_DIR, 0777) != 0 && errno != EEXIST)
        return -1;
    h5io_mute(&quiet);
    file = h5io_create(FILE_H5, NULL);
    return file < 0 ? -1 : 0;
}

static int teardown(void **state)
{
    int rc = file >= 0 && H5Fclose(file) >= 0 ? 0 : -1;

    (void)state;
    h5io_unmute(&quiet);
    return rc;
}

static void test_matrix_is_stored_transposed(void **state)
{
    const double m[6] = { 1, 2, 3, 4, 5, 6 };   /* 2 x 3, column-major */
    double scratch[6], raw[2][3], *back = NULL;
    hid_t dset;

    (void)state;
    assert_int_equal(h5io_put_matrix(file, "M", m, 2, 3, scratch), 0);
    dset = H5Dopen2(file, "M", H5P_DEFAULT);
    assert_true(dset >= 0);
    assert_true(H5Dread(dset, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL,
                        H5P_DEFAULT, raw) >= 0);
    assert_true(H5Dclose(dset) >= 0);
    for (int r = 0; r < 2; r++)
        for (int c = 0; c < 3; c++)
            assert_true(raw[r][c] == m[r + c * 2]);
    assert_int_equal(h5io_get_matrix(file, "M", 2, 3, &back), H5IO_OK);
    assert_memory_equal(back, m, sizeof m);
    free(back);
    back = NULL;
    assert_int_equal(h5io_get_matrix(file, "M", 3, 2, &back), H5IO_SHAPE);
    assert_int_equal(h5io_get_matrix(file, "N", 2, 3, &back),
                     H5IO_MISSING);
    assert_null(back);
}

static void test_attributes_round_trip(void **state)
{
    const int v[4] = { -1, 0, 7, 2147483647 };
    int i = 0, w[4] = { 0 };
    uint64_t u = 0;
    char *text = NULL;

    (void)state;
    assert_int_equal(h5io_put_int(file, "i", -42), 0);
    assert_int_equal(h5io_put_ints(file, "v", v, 4), 0);
    assert_int_equal(h5io_put_u64(file, "u", UINT64_MAX - 1), 0);
    assert_int_equal(h5io_put_str(file, "s", "a = 1\nb = 2\n"), 0);
    assert_int_equal(h5io_get_int(file, "i", &i), 0);
    assert_int_equal(i, -42);
    assert_int_equal(h5io_get_ints(file, "v", w, 4), 0);
    assert_memory_equal(w, v, sizeof v);
    assert_int_equal(h5io_get_u64(file, "u", &u), 0);
    assert_true(u == UINT64_MAX - 1);
    assert_int_equal(h5io_get_str(file, "s", &text), 0);
    assert_string_equal(text, "a = 1\nb = 2\n");
    free(text);
    assert_int_equal(h5io_get_ints(file, "v", w, 3), -1);
    assert_int_equal(h5io_get_int(file, "v", &i), -1);
    assert_int_equal(h5io_get_int(file, "none", &i), -1);
    assert_int_equal(h5io_get_str(file, "i", &text), -1);
}

static void test_list_of_any_length(void **state)
{
    const int v[5] = { 4, 3, 2, 1, 0 };
    hsize_t len = 5, n = 0, four = 4, dims[2] = { 5, 1 };

    (void)state;
    assert_int_equal(h5io_put_dset(file, "L", H5T_STD_I32LE,
                                   H5T_NATIVE_INT, 1, &len, v), 0);
    assert_int_equal(h5io_dset_shape(file, "L", 1, &n), H5IO_OK);
    assert_int_equal(n, 5);
    assert_int_equal(h5io_dset_shape(file, "L", 1, &four), H5IO_SHAPE);
    assert_int_equal(four, 4);
    assert_int_equal(h5io_dset_shape(file, "L", 2, dims), H5IO_SHAPE);
}

static void test_publish_names_the_failed_step(void **state)
{
    const char *path = TMP_DIR "/h5io_pub.txt";
    char *tmp = h5io_tmp_name(path);
    FILE *f;

    (void)state;
    assert_non_null(tmp);
    assert_string_equal(tmp, TMP_DIR "/h5io_pub.txt.tmp");
    f = fopen(tmp, "w");
    assert_non_null(f);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(h5io_publish(tmp, path, TMP_DIR), H5IO_OK);
    assert_int_equal(h5io_publish(tmp, path, TMP_DIR), H5IO_SYNC);
    assert_int_equal(h5io_publish(tmp, path, NULL), H5IO_RENAME);
    assert_int_equal(remove(path), 0);
    free(tmp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_matrix_is_stored_transposed),
        cmocka_unit_test(test_attributes_round_trip),
        cmocka_unit_test(test_list_of_any_length),
        cmocka_unit_test(test_publish_names_the_failed_step),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
