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

/* Create <dir>/log.csv with its header for a network of `nodes` nodes.
 * NULL with a message in err when the file cannot be created. */
RunLog *runlog_open(const char *dir, int nodes, char *err, size_t errlen);

/* One row: iteration (1-based), its seconds, and the stats. */
void runlog_row(RunLog *r, int iteration, double seconds,
                const TrainStats *st);

void runlog_close(RunLog *r);

#endif
