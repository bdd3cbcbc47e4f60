/*
 * output.h - what a run leaves behind: the weights in HDF5 and summary.json.
 *
 * Files are written under a temporary name in the same directory and
 * renamed only when complete, so a reader never sees a partial file.
 * Only rank 0 calls these; nothing here is collective.
 */
#ifndef NLPC_OUTPUT_H
#define NLPC_OUTPUT_H

#include <stddef.h>

#include <cJSON.h>

#include "config.h"

/* Write /weights/A0 .. /weights/A{nodes-1} (each width x width, stored so
 * that h5py reads A[i][j] = A_j(i, j) as in the math, from column-major
 * arrays A[j]) plus root attributes format_version (int), nodes, width,
 * iteration and the resolved configuration text "config". Returns 0 or -1
 * with a message in err. */
int out_write_weights(const char *path, const NlpcConfig *cfg,
                      double *const *A, int iteration, char *err,
                      size_t errlen);

/* Read the weights written by out_write_weights. *A is an array of `nodes`
 * malloc'd column-major width x width matrices; the caller frees each and
 * the array. Refuses a file whose format or shapes are wrong. */
int out_read_weights(const char *path, int *nodes, int *width, double ***A,
                     char *err, size_t errlen);

/* The root attributes iteration and config (the resolved configuration
 * text, malloc'd into *config for the caller to free) of a weights file
 * whose format is checked as out_read_weights does. 0 or -1 with a
 * message in err. */
int out_read_attrs(const char *path, int *iteration, char **config,
                   char *err, size_t errlen);

/* Figures of a finished run, for summary.json. */
typedef struct {
    int iterations_done;
    int resumed_from;           /* iteration this run started from */
    double train_seconds;       /* of this run: after resumed_from */
    double eval_seconds;
    double forward_seconds;     /* of eval_seconds: the forward passes */
    double final_goal_error;
    double train_accuracy;
    double val_accuracy;        /* < 0 when there is no validation split */
    double test_accuracy;
    int ranks;
} OutSummary;

/* Write <dir>/summary.json with the data set, network, mode, seed,
 * iterations, the figures above and the resolved configuration text. */
int out_write_summary(const char *path, const NlpcConfig *cfg,
                      const OutSummary *s, char *err, size_t errlen);

/* Write the JSON object obj to path (as cJSON_Print formats it), through
 * "<path>.tmp" renamed into place. 0 or -1 with a message in err. */
int out_write_json(const char *path, const cJSON *obj, char *err,
                   size_t errlen);

#endif
