/*
 * output.c - the files a run leaves behind (see output.h): the weights as
 * HDF5 and the run summary as JSON.
 *
 * Every file is written as "<path>.tmp" and renamed over <path> only once
 * it is complete and closed, so an old file survives any failure of
 * ours (unlike a checkpoint, nothing is fsync'd). The HDF5 plumbing -
 * attributes, matrices stored so that h5py and h5dump see A(r, c) at
 * [r][c], quiet error printing, publishing - is h5io's; this file holds
 * the layout and the messages. Nothing here is collective and nothing
 * here touches MPI.
 *
 * This module deliberately does not write checkpoints for restarting, the
 * training data or any per-iteration history.
 */
#include "output.h"
#include "errmsg.h"
#include "h5io.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#define OUT_FORMAT_VERSION 1
#define OUT_WIDTH_MAX 46340     /* width * width must fit in an int */

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

/* ---- writing the weights ---------------------------------------------- */

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
    group = h5io_create_group(file, "weights");
    if (group < 0) {
        err_set(err, errlen, "%s: cannot create group /weights", tmp);
        goto done;
    }
    for (int j = 0; j < nodes; j++) {
        snprintf(name, sizeof name, "A%d", j);
        if (h5io_put_matrix(group, name, A[j], width, width, buf) < 0) {
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
    if (h5io_put_int(file, "format_version", OUT_FORMAT_VERSION) < 0
        || h5io_put_int(file, "nodes", cfg->nodes) < 0
        || h5io_put_int(file, "width", cfg->width) < 0
        || h5io_put_int(file, "iteration", iteration) < 0
        || h5io_put_str(file, "config", text) < 0) {
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
    const char *why = "";
    hid_t file = h5io_create(tmp, &why);
    int rc;

    if (file < 0)
        return err_set(err, errlen, "%s: cannot create (%s)", tmp, why);
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

/* Rename the complete tmp over path. 0, or -1 with a message in err and
 * tmp removed. */
static int out_publish(const char *tmp, const char *path, char *err,
                       size_t errlen)
{
    if (h5io_publish(tmp, path, NULL) == H5IO_OK)
        return 0;
    err_set(err, errlen, "%s: cannot rename %s into place: %s", path, tmp,
            strerror(errno));
    remove(tmp);
    return -1;
}

int out_write_weights(const char *path, const NlpcConfig *cfg,
                      double *const *A, int iteration, char *err,
                      size_t errlen)
{
    H5ioQuiet quiet;
    char *tmp;
    int rc;

    if (cfg->nodes < 1 || cfg->width < 1 || cfg->width > OUT_WIDTH_MAX) {
        err_set(err, errlen, "%s: bad shape nodes=%d width=%d", path,
                cfg->nodes, cfg->width);
        return -1;
    }
    tmp = h5io_tmp_name(path);
    if (tmp == NULL)
        return err_set(err, errlen, "%s: out of memory", path);
    h5io_mute(&quiet);
    rc = out_write_h5(tmp, cfg, A, iteration, err, errlen);
    h5io_unmute(&quiet);
    if (rc == 0)
        rc = out_publish(tmp, path, err, errlen);
    else
        remove(tmp);
    free(tmp);
    return rc;
}

/* ---- reading the weights ---------------------------------------------- */

/* format_version, nodes and width from the root, checked. */
static int out_get_header(hid_t file, const char *path, int *nodes,
                          int *width, char *err, size_t errlen)
{
    int version;

    if (h5io_get_int(file, "format_version", &version) < 0) {
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
    if (h5io_get_int(file, "nodes", nodes) < 0
        || h5io_get_int(file, "width", width) < 0) {
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

/* /weights/<name> into a fresh column-major matrix *out. */
static int out_get_matrix(hid_t group, const char *path, const char *name,
                          int width, double **out, char *err,
                          size_t errlen)
{
    switch (h5io_get_matrix(group, name, width, width, out)) {
    case H5IO_OK:
        return 0;
    case H5IO_NOMEM:
        return err_set(err, errlen, "%s: out of memory", path);
    case H5IO_MISSING:
        return err_set(err, errlen, "%s: no data set /weights/%s", path,
                       name);
    case H5IO_SHAPE:
        return err_set(err, errlen, "%s: /weights/%s is not %d x %d", path,
                       name, width, width);
    case H5IO_CLOSE:
        return err_set(err, errlen, "%s: cannot close /weights/%s", path,
                       name);
    default:
        return err_set(err, errlen, "%s: cannot read /weights/%s", path,
                       name);
    }
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
    group = h5io_open_group(file, "weights");
    if (group < 0) {
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
    hid_t file = h5io_open_read(path);
    int rc;

    if (file < 0)
        return err_set(err, errlen, "%s: not an HDF5 file or truncated",
                       path);
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
    H5ioQuiet quiet;
    FILE *probe = fopen(path, "rb");
    int n = 0, w = 0, rc;
    double **mats = NULL;

    if (probe == NULL) {
        err_set(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    fclose(probe);
    h5io_mute(&quiet);
    rc = out_read_h5(path, &n, &w, &mats, err, errlen);
    h5io_unmute(&quiet);
    if (rc == 0) {
        *nodes = n;
        *width = w;
        *A = mats;
    }
    return rc;
}

/* iteration and config of an open weights file whose header is
 * checked */
static int out_get_attrs(hid_t file, const char *path, int *iteration,
                         char **config, char *err, size_t errlen)
{
    int nodes, width;

    if (out_get_header(file, path, &nodes, &width, err, errlen) < 0)
        return -1;
    if (h5io_get_int(file, "iteration", iteration) < 0
        || h5io_get_str(file, "config", config) < 0)
        return err_set(err, errlen, "%s: missing or bad iteration or "
                       "config attribute", path);
    return 0;
}

int out_read_attrs(const char *path, int *iteration, char **config,
                   char *err, size_t errlen)
{
    H5ioQuiet quiet;
    hid_t file;
    int it = 0, rc;
    char *text = NULL;

    h5io_mute(&quiet);
    file = h5io_open_read(path);
    if (file < 0) {
        h5io_unmute(&quiet);
        return err_set(err, errlen, "%s: not an HDF5 file or truncated",
                       path);
    }
    rc = out_get_attrs(file, path, &it, &text, err, errlen);
    H5Fclose(file);
    h5io_unmute(&quiet);
    if (rc == 0) {
        *iteration = it;
        *config = text;
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
    bad |= out_json_num(o, "resumed_from_iteration", s->resumed_from, 0);
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

/* Writes through <path>.tmp, renamed over path when complete. */
int out_write_json(const char *path, const cJSON *obj, char *err,
                   size_t errlen)
{
    char *tmp = h5io_tmp_name(path);
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
    rc = out_publish(tmp, path, err, errlen);
done:
    cJSON_free(json);
    free(tmp);
    return rc;
}

/* Writes the summary to `path` itself (callers pass <dir>/summary.json).
 * Non-finite figures (NaN, inf) come out as null, since JSON has no
 * spelling for them. */
int out_write_summary(const char *path, const NlpcConfig *cfg,
                      const OutSummary *s, char *err, size_t errlen)
{
    char *text = out_config_text(cfg);
    cJSON *obj = text != NULL ? out_summary_json(cfg, s, text) : NULL;
    int rc;

    if (obj == NULL)
        rc = err_set(err, errlen, "%s: out of memory", path);
    else
        rc = out_write_json(path, obj, err, errlen);
    cJSON_Delete(obj);
    free(text);
    return rc;
}
