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

RunLog *runlog_open(const char *dir, int nodes, char *err, size_t errlen)
{
    char path[CFG_PATH_MAX + 16];
    RunLog *r = calloc(1, sizeof(*r));

    snprintf(path, sizeof(path), "%s/log.csv", dir);
    if (!r || !(r->f = fopen(path, "w"))) {
        err_set(err, errlen, "cannot create %s; check [output] dir", path);
        free(r);
        return NULL;
    }
    r->nodes = nodes;
    fprintf(r->f, "iteration,seconds,goal_error,updated");
    for (int l = 1; l <= nodes; l++)
        for (int t = 0; t < TRAIN_TERMS; t++)
            fprintf(r->f, ",%s_%d", train_term_name(t), l);
    fputc('\n', r->f);
    return r;
}

void runlog_row(RunLog *r, int iteration, double seconds,
                const TrainStats *st)
{
    if (!r)
        return;
    fprintf(r->f, "%d,%.6f,%.9g,%d", iteration, seconds, st->goal_error,
            st->updated);
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
