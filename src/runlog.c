/*
 * runlog.c - log.csv, one row per iteration (see runlog.h).
 *
 * Columns: iteration, seconds, goal_error, updated, then for every node l
 * and every term t of train.h a column "<t>_<l>" (e.g. te_1, J_6). A term
 * of a node that was not updated is empty.
 */
#include "runlog.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "config.h"
#include "errmsg.h"

struct RunLog {
    FILE *f;
    int nodes;
};

static void runlog_header(FILE *f, int nodes)
{
    fprintf(f, "iteration,seconds,goal_error,updated,val_acc");
    for (int l = 1; l <= nodes; l++)
        for (int t = 0; t < TRAIN_TERMS; t++)
            fprintf(f, ",%s_%d", train_term_name(t), l);
    fputc('\n', f);
}

/* copy the header and the rows of iterations <= keep from the old log at
 * path into f; a missing old log just gives a header */
static void runlog_keep(const char *path, FILE *f, int nodes, int keep)
{
    FILE *old = fopen(path, "r");
    char *line = NULL;
    size_t cap = 0;
    int first = 1;

    if (!old) {
        runlog_header(f, nodes);
        return;
    }
    while (getline(&line, &cap, old) > 0) {
        if (first || atoi(line) <= keep)
            fputs(line, f);
        first = 0;
    }
    if (first)
        runlog_header(f, nodes);
    free(line);
    fclose(old);
}

RunLog *runlog_open(const char *dir, int nodes, int keep, char *err,
                    size_t errlen)
{
    char path[CFG_PATH_MAX + 16], tmp[CFG_PATH_MAX + 24];
    RunLog *r = calloc(1, sizeof(*r));
    FILE *f;

    snprintf(path, sizeof(path), "%s/log.csv", dir);
    snprintf(tmp, sizeof(tmp), "%s/log.csv.tmp", dir);
    if (!r || !(f = fopen(tmp, "w"))) {
        err_set(err, errlen, "cannot create %s; check [output] dir", tmp);
        free(r);
        return NULL;
    }
    if (keep > 0)
        runlog_keep(path, f, nodes, keep);
    else
        runlog_header(f, nodes);
    if (fclose(f) != 0 || rename(tmp, path) != 0
        || !(r->f = fopen(path, "a"))) {
        err_set(err, errlen, "cannot write %s; check [output] dir", path);
        free(r);
        return NULL;
    }
    r->nodes = nodes;
    return r;
}

void runlog_row(RunLog *r, int iteration, double seconds,
                const TrainStats *st)
{
    if (!r)
        return;
    fprintf(r->f, "%d,%.6f,%.9g,%d,", iteration, seconds, st->goal_error,
            st->updated);
    if (!isnan(st->val_acc))
        fprintf(r->f, "%.6f", st->val_acc);
    for (int l = 0; l < r->nodes; l++)
        for (int t = 0; t < TRAIN_TERMS; t++) {
            double v = st->terms[l][t];

            if (isnan(v))
                fputc(',', r->f);
            else
                fprintf(r->f, ",%.9g", v);
        }
    fputc('\n', r->f);
    fflush(r->f);
}

void runlog_close(RunLog *r)
{
    if (!r)
        return;
    fclose(r->f);
    free(r);
}
