/*
 * runlog.h - the machine-readable run log: log.csv in the output
 * directory, one row per iteration with every objective term of every
 * node. Tests and plots read this file, never the screen. Rank 0 only.
 */
#ifndef NLPC_RUNLOG_H
#define NLPC_RUNLOG_H

#include <stddef.h>

#include "train.h"

typedef struct RunLog RunLog;

/* Open <dir>/log.csv for a network of `nodes` nodes. A run that starts
 * afresh (keep = 0) creates it with its header; a resumed run keeps the
 * rows of iterations 1..keep of the existing log and appends after them.
 * NULL with a message in err when the file cannot be written. */
RunLog *runlog_open(const char *dir, int nodes, int keep, char *err,
                    size_t errlen);

/* One row: iteration (1-based), its seconds, and the stats. */
void runlog_row(RunLog *r, int iteration, double seconds,
                const TrainStats *st);

void runlog_close(RunLog *r);

#endif
