/*
 * output.c - the files a run leaves behind (see output.h): the weights as
 * HDF5 and the run summary as JSON.
 *
 * Every file is written as "<path>.tmp" and renamed over <path> only once
 * it is complete and closed, so an old file survives any failure. HDF5 is
 * used through its serial API from one process with the default property
 * lists; nothing here is collective and nothing here touches MPI.
 *
 * Orientation: the trainer keeps matrices column-major (A(r, c) at
 * A[r + c * width]); HDF5 datasets are row-major. Matrices are transposed
 * on the way in and out so that a reader (h5py, h5dump) sees A(r, c) at
 * [r][c], as in the math.
 *
 * This module deliberately does not write checkpoints for restarting, the
 * training data or any per-iteration history.
 */
#include "output.h"
#include "errmsg.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>
#include <hdf5.h>

#define OUT_FORMAT_VERSION 1
#define OUT_WIDTH_MAX 46340     /* width * width must fit in an int */

/* "<path>.tmp" in a fresh buffer, or NULL on no memory. */
static char *out_tmp_name(const char *path)
{
    size_t n = strlen(path);
    char *tmp = malloc(n + 5);

    if (tmp != NULL) {
        memcpy(tmp, path, n);
        memcpy(tmp + n, ".tmp", 5);
    }
    return tmp;
}

/* The resolved configuration text, malloc'd; NULL on no memory. */
static char *out_config_text(const NlpcConfig *cfg)
{
    char probe[1];
    size_t need = cfg_to_string(cfg, probe, sizeof probe);
    char *text = malloc(need + 1);

    if (text != NULL)
        cfg_to_string(cfg, text, need + 1);
    return text;
}

/* HDF5 prints its error stack by default; our callers want one message
 * in err instead. These save, silence and restore the handler. */
typedef struct {
    H5E_auto2_t func;
    void *data;
} OutH5Quiet;

static void out_h5_quiet(OutH5Quiet *q)
{
    if (H5Eget_auto2(H5E_DEFAULT, &q->func, &q->data) < 0) {
        q->func = NULL;
        q->data = NULL;
    }
    /* A failure here only means HDF5 also prints its own stack. */
    (void)H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
}

static void out_h5_restore(const OutH5Quiet *q)
{
    (void)H5Eset_auto2(H5E_DEFAULT, q->func, q->data);
}

/* ---- writing the weights ---------------------------------------------- */

static int out_put_int_attr(hid_t loc, const char *name, int value)
{
    hid_t space = H5Screate(H5S_SCALAR);
    hid_t attr = -1;
    int rc = -1;

    if (space < 0)
        return -1;
    attr = H5Acreate2(loc, name, H5T_STD_I32LE, space, H5P_DEFAULT,
                      H5P_DEFAULT);
    if (attr >= 0 && H5Awrite(attr, H5T_NATIVE_INT, &value) >= 0)
        rc = 0;
    if (attr >= 0 && H5Aclose(attr) < 0)
        rc = -1;
    if (H5Sclose(space) < 0)
        rc = -1;
    return rc;
}

/* A fixed-length, NUL-terminated string attribute holding `text`. */
static int out_put_str_attr(hid_t loc, const char *name, const char *text)
{
    hid_t type = H5Tcopy(H5T_C_S1);
    hid_t space = -1, attr = -1;
    int rc = -1;

    if (type < 0)
        return -1;
    if (H5Tset_size(type, strlen(text) + 1) < 0
        || H5Tset_strpad(type, H5T_STR_NULLTERM) < 0)
        goto done;
    space = H5Screate(H5S_SCALAR);
    if (space < 0)
        goto done;
    attr = H5Acreate2(loc, name, type, space, H5P_DEFAULT, H5P_DEFAULT);
    if (attr >= 0 && H5Awrite(attr, type, text) >= 0)
        rc = 0;
done:
    if (attr >= 0 && H5Aclose(attr) < 0)
        rc = -1;
    if (space >= 0 && H5Sclose(space) < 0)
        rc = -1;
    if (H5Tclose(type) < 0)
        rc = -1;
    return rc;
}

/* Column-major src (n x n) into row-major dst, or back: both are the
 * same transpose. */
static void out_transpose(double *dst, const double *src, int n)
{
    for (int r = 0; r < n; r++)
        for (int c = 0; c < n; c++)
            dst[(size_t)r * n + c] = src[r + (size_t)c * n];
}

/* Dataset `name` in `group`: the width x width column-major matrix a,
 * stored row-major. `buf` is scratch of width * width doubles. */
static int out_put_matrix(hid_t group, const char *name, const double *a,
                          int width, double *buf)
{
    hsize_t dims[2] = { (hsize_t)width, (hsize_t)width };
    hid_t space = H5Screate_simple(2, dims, NULL);
    hid_t dset = -1;
    int rc = -1;

    if (space < 0)
        return -1;
    out_transpose(buf, a, width);
    dset = H5Dcreate2(group, name, H5T_IEEE_F64LE, space, H5P_DEFAULT,
                      H5P_DEFAULT, H5P_DEFAULT);
    if (dset >= 0 && H5Dwrite(dset, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL,
                              H5P_DEFAULT, buf) >= 0)
        rc = 0;
    if (dset >= 0 && H5Dclose(dset) < 0)
        rc = -1;
    if (H5Sclose(space) < 0)
        rc = -1;
    return rc;
}

/* Group /weights with datasets A0 .. A{nodes-1}. */
static int out_put_weights(hid_t file, const char *tmp,
                           double *const *A, int nodes, int width,
                           char *err, size_t errlen)
{
    double *buf = malloc((size_t)width * width * sizeof *buf);
    hid_t group = -1;
    char name[32];
    int rc = -1;

    if (buf == NULL) {
        err_set(err, errlen, "%s: out of memory", tmp);
        return -1;
    }
    group = H5Gcreate2(file, "weights", H5P_DEFAULT, H5P_DEFAULT,
                       H5P_DEFAULT);
    if (group < 0) {
        err_set(err, errlen, "%s: cannot create group /weights", tmp);
        goto done;
    }
    for (int j = 0; j < nodes; j++) {
        snprintf(name, sizeof name, "A%d", j);
        if (out_put_matrix(group, name, A[j], width, buf) < 0) {
            err_set(err, errlen, "%s: cannot write /weights/%s", tmp, name);
            goto done;
        }
    }
    rc = 0;
done:
    if (group >= 0 && H5Gclose(group) < 0 && rc == 0) {
        err_set(err, errlen, "%s: cannot close group /weights", tmp);
        rc = -1;
    }
    free(buf);
    return rc;
}

/* The root attributes: format_version, nodes, width, iteration, config. */
static int out_put_root_attrs(hid_t file, const char *tmp,
                              const NlpcConfig *cfg, int iteration,
                              char *err, size_t errlen)
{
    char *text = out_config_text(cfg);
    int rc = 0;

    if (text == NULL) {
        err_set(err, errlen, "%s: out of memory", tmp);
        return -1;
    }
    if (out_put_int_attr(file, "format_version", OUT_FORMAT_VERSION) < 0
        || out_put_int_attr(file, "nodes", cfg->nodes) < 0
        || out_put_int_attr(file, "width", cfg->width) < 0
        || out_put_int_attr(file, "iteration", iteration) < 0
        || out_put_str_attr(file, "config", text) < 0) {
        err_set(err, errlen, "%s: cannot write the root attributes", tmp);
        rc = -1;
    }
    free(text);
    return rc;
}

/* Create tmp, fill it and close it; 0 only if every step succeeded. */
static int out_write_h5(const char *tmp, const NlpcConfig *cfg,
                        double *const *A, int iteration, char *err,
                        size_t errlen)
{
    hid_t file;
    int rc;

    errno = 0;
    file = H5Fcreate(tmp, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    if (file < 0) {
        err_set(err, errlen, "%s: cannot create (%s)", tmp,
                errno ? strerror(errno) : "HDF5 error");
        return -1;
    }
    rc = out_put_root_attrs(file, tmp, cfg, iteration, err, errlen);
    if (rc == 0)
        rc = out_put_weights(file, tmp, A, cfg->nodes, cfg->width, err,
                             errlen);
    if (H5Fclose(file) < 0 && rc == 0) {
        err_set(err, errlen, "%s: cannot close (disk full?)", tmp);
        rc = -1;
    }
    return rc;
}

int out_write_weights(const char *path, const NlpcConfig *cfg,
                      double *const *A, int iteration, char *err,
                      size_t errlen)
{
    OutH5Quiet quiet;
    char *tmp;
    int rc;

    if (cfg->nodes < 1 || cfg->width < 1 || cfg->width > OUT_WIDTH_MAX) {
        err_set(err, errlen, "%s: bad shape nodes=%d width=%d", path,
                cfg->nodes, cfg->width);
        return -1;
    }
    tmp = out_tmp_name(path);
    if (tmp == NULL) {
        err_set(err, errlen, "%s: out of memory", path);
        return -1;
    }
    out_h5_quiet(&quiet);
    rc = out_write_h5(tmp, cfg, A, iteration, err, errlen);
    out_h5_restore(&quiet);
    if (rc == 0 && rename(tmp, path) != 0) {
        err_set(err, errlen, "%s: cannot rename %s into place: %s", path,
                tmp, strerror(errno));
        rc = -1;
    }
    if (rc != 0)
        remove(tmp);
    free(tmp);
    return rc;
}

/* ---- reading the weights ---------------------------------------------- */

/* A scalar integer attribute of the root; -1 if missing or not one int. */
static int out_get_int_attr(hid_t file, const char *name, int *value)
{
    hid_t attr, space;
    int rc = -1;

    if (H5Aexists(file, name) <= 0)
        return -1;
    attr = H5Aopen(file, name, H5P_DEFAULT);
    if (attr < 0)
        return -1;
    space = H5Aget_space(attr);
    if (space >= 0 && H5Sget_simple_extent_npoints(space) == 1
        && H5Aread(attr, H5T_NATIVE_INT, value) >= 0)
        rc = 0;
    if (space >= 0 && H5Sclose(space) < 0)
        rc = -1;
    if (H5Aclose(attr) < 0)
        rc = -1;
    return rc;
}

/* format_version, nodes and width from the root, checked. */
static int out_get_header(hid_t file, const char *path, int *nodes,
                          int *width, char *err, size_t errlen)
{
    int version;

    if (out_get_int_attr(file, "format_version", &version) < 0) {
        err_set(err, errlen, "%s: no format_version attribute "
                "(not a weights file)", path);
        return -1;
    }
    if (version != OUT_FORMAT_VERSION) {
        err_set(err, errlen, "%s: format_version %d, expected %d "
                "(written by another version)", path, version,
                OUT_FORMAT_VERSION);
        return -1;
    }
    if (out_get_int_attr(file, "nodes", nodes) < 0
        || out_get_int_attr(file, "width", width) < 0) {
        err_set(err, errlen, "%s: missing nodes or width attribute", path);
        return -1;
    }
    if (*nodes < 1 || *width < 1 || *width > OUT_WIDTH_MAX) {
        err_set(err, errlen, "%s: bad shape nodes=%d width=%d", path,
                *nodes, *width);
        return -1;
    }
    return 0;
}

/* 0 if dset is a 2-d width x width data set. */
static int out_check_dims(hid_t dset, int width)
{
    hid_t space = H5Dget_space(dset);
    hsize_t dims[2];
    int rc = -1;

    if (space < 0)
        return -1;
    if (H5Sget_simple_extent_ndims(space) == 2
        && H5Sget_simple_extent_dims(space, dims, NULL) == 2
        && dims[0] == (hsize_t)width && dims[1] == (hsize_t)width)
        rc = 0;
    if (H5Sclose(space) < 0)
        rc = -1;
    return rc;
}

/* /weights/<name> into a fresh column-major matrix *out. */
static int out_get_matrix(hid_t group, const char *path, const char *name,
                          int width, double **out, char *err,
                          size_t errlen)
{
    size_t n = (size_t)width * width;
    double *buf = malloc(n * sizeof *buf);
    double *a = malloc(n * sizeof *a);
    hid_t dset = -1;
    int rc = -1;

    if (buf == NULL || a == NULL) {
        err_set(err, errlen, "%s: out of memory", path);
        goto done;
    }
    if (H5Lexists(group, name, H5P_DEFAULT) <= 0
        || (dset = H5Dopen2(group, name, H5P_DEFAULT)) < 0) {
        err_set(err, errlen, "%s: no data set /weights/%s", path, name);
        goto done;
    }
    if (out_check_dims(dset, width) < 0) {
        err_set(err, errlen, "%s: /weights/%s is not %d x %d", path, name,
                width, width);
        goto done;
    }
    if (H5Dread(dset, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT,
                buf) < 0) {
        err_set(err, errlen, "%s: cannot read /weights/%s", path, name);
        goto done;
    }
    out_transpose(a, buf, width);
    *out = a;
    a = NULL;
    rc = 0;
done:
    if (dset >= 0 && H5Dclose(dset) < 0 && rc == 0) {
        err_set(err, errlen, "%s: cannot close /weights/%s", path, name);
        free(*out);
        *out = NULL;
        rc = -1;
    }
    free(buf);
    free(a);
    return rc;
}

static void out_free_matrices(double **A, int nodes)
{
    if (A == NULL)
        return;
    for (int j = 0; j < nodes; j++)
        free(A[j]);
    free(A);
}

/* All nodes matrices from /weights into a fresh array *out. */
static int out_get_weights(hid_t file, const char *path, int nodes,
                           int width, double ***out, char *err,
                           size_t errlen)
{
    double **A = calloc((size_t)nodes, sizeof *A);
    hid_t group = -1;
    char name[32];
    int rc = -1;

    if (A == NULL) {
        err_set(err, errlen, "%s: out of memory", path);
        return -1;
    }
    if (H5Lexists(file, "weights", H5P_DEFAULT) <= 0
        || (group = H5Gopen2(file, "weights", H5P_DEFAULT)) < 0) {
        err_set(err, errlen, "%s: no group /weights", path);
        goto done;
    }
    for (int j = 0; j < nodes; j++) {
        snprintf(name, sizeof name, "A%d", j);
        if (out_get_matrix(group, path, name, width, &A[j], err,
                           errlen) < 0)
            goto done;
    }
    *out = A;
    A = NULL;
    rc = 0;
done:
    if (group >= 0 && H5Gclose(group) < 0 && rc == 0) {
        err_set(err, errlen, "%s: cannot close group /weights", path);
        out_free_matrices(*out, nodes);
        *out = NULL;
        rc = -1;
    }
    out_free_matrices(A, nodes);
    return rc;
}

static int out_read_h5(const char *path, int *nodes, int *width,
                       double ***A, char *err, size_t errlen)
{
    hid_t file;
    int rc;

    if (H5Fis_hdf5(path) <= 0) {
        err_set(err, errlen, "%s: not an HDF5 file or truncated", path);
        return -1;
    }
    file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (file < 0) {
        err_set(err, errlen, "%s: not an HDF5 file or truncated", path);
        return -1;
    }
    rc = out_get_header(file, path, nodes, width, err, errlen);
    if (rc == 0)
        rc = out_get_weights(file, path, *nodes, *width, A, err, errlen);
    if (H5Fclose(file) < 0 && rc == 0) {
        err_set(err, errlen, "%s: cannot close", path);
        out_free_matrices(*A, *nodes);
        *A = NULL;
        rc = -1;
    }
    return rc;
}

int out_read_weights(const char *path, int *nodes, int *width, double ***A,
                     char *err, size_t errlen)
{
    OutH5Quiet quiet;
    FILE *probe = fopen(path, "rb");
    int n = 0, w = 0, rc;
    double **mats = NULL;

    if (probe == NULL) {
        err_set(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    fclose(probe);
    out_h5_quiet(&quiet);
    rc = out_read_h5(path, &n, &w, &mats, err, errlen);
    out_h5_restore(&quiet);
    if (rc == 0) {
        *nodes = n;
        *width = w;
        *A = mats;
    }
    return rc;
}

/* ---- summary.json ------------------------------------------------------ */

/* Adds one number, or null when `is_null`; 0 or -1 on no memory. */
static int out_json_num(cJSON *obj, const char *name, double v, int is_null)
{
    cJSON *item = is_null ? cJSON_AddNullToObject(obj, name)
                          : cJSON_AddNumberToObject(obj, name, v);

    return item != NULL ? 0 : -1;
}

/* The summary object; NULL on no memory. */
static cJSON *out_summary_json(const NlpcConfig *cfg, const OutSummary *s,
                               const char *text)
{
    cJSON *o = cJSON_CreateObject();
    int bad;

    if (o == NULL)
        return NULL;
    bad = cJSON_AddStringToObject(o, "data_set", cfg->data_set) == NULL;
    bad |= out_json_num(o, "nodes", cfg->nodes, 0);
    bad |= out_json_num(o, "width", cfg->width, 0);
    bad |= out_json_num(o, "goal_node", cfg->goal_node, 0);
    bad |= cJSON_AddStringToObject(o, "mode", cfg->mode == CFG_MODE_ASYNC
                                   ? "async" : "sync") == NULL;
    bad |= out_json_num(o, "seed", (double)cfg->seed, 0);
    bad |= out_json_num(o, "iterations", cfg->iterations, 0);
    bad |= out_json_num(o, "iterations_done", s->iterations_done, 0);
    bad |= out_json_num(o, "ranks", s->ranks, 0);
    bad |= out_json_num(o, "train_seconds", s->train_seconds, 0);
    bad |= out_json_num(o, "eval_seconds", s->eval_seconds, 0);
    bad |= out_json_num(o, "eval_forward_seconds", s->forward_seconds, 0);
    bad |= out_json_num(o, "final_goal_error", s->final_goal_error, 0);
    bad |= out_json_num(o, "train_accuracy", s->train_accuracy, 0);
    bad |= out_json_num(o, "validation_accuracy", s->val_accuracy,
                        s->val_accuracy < 0);
    bad |= out_json_num(o, "test_accuracy", s->test_accuracy, 0);
    bad |= cJSON_AddStringToObject(o, "config", text) == NULL;
    if (bad) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

/* Write text to tmp; 0 or -1 with a message. */
static int out_put_text(const char *tmp, const char *text, char *err,
                        size_t errlen)
{
    FILE *f = fopen(tmp, "w");
    int rc = 0;

    if (f == NULL) {
        err_set(err, errlen, "%s: cannot create: %s", tmp, strerror(errno));
        return -1;
    }
    if (fputs(text, f) == EOF || fputc('\n', f) == EOF)
        rc = -1;
    if (fclose(f) != 0)
        rc = -1;
    if (rc != 0)
        err_set(err, errlen, "%s: write failed: %s", tmp, strerror(errno));
    return rc;
}

/* Writes the summary to `path` itself (callers pass <dir>/summary.json),
 * through <path>.tmp. Non-finite figures (NaN, inf) come out as null,
 * since JSON has no spelling for them. */
int out_write_summary(const char *path, const NlpcConfig *cfg,
                      const OutSummary *s, char *err, size_t errlen)
{
    char *text = out_config_text(cfg);
    char *tmp = out_tmp_name(path);
    cJSON *obj = text != NULL ? out_summary_json(cfg, s, text) : NULL;
    char *json = obj != NULL ? cJSON_Print(obj) : NULL;
    int rc = -1;

    if (tmp == NULL || json == NULL) {
        err_set(err, errlen, "%s: out of memory", path);
        goto done;
    }
    if (out_put_text(tmp, json, err, errlen) < 0) {
        remove(tmp);
        goto done;
    }
    if (rename(tmp, path) != 0) {
        err_set(err, errlen, "%s: cannot rename %s into place: %s", path,
                tmp, strerror(errno));
        remove(tmp);
        goto done;
    }
    rc = 0;
done:
    cJSON_free(json);
    cJSON_Delete(obj);
    free(tmp);
    free(text);
    return rc;
}
