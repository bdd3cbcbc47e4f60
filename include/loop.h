/*
 * loop.h - the training run around the iteration: resume from a
 * checkpoint, the loop with its progress line and run log, checkpoints
 * every few iterations and at the end, and the signals a batch system
 * sends (SIGUSR1 before a time limit, SIGTERM before a kill).
 *
 * Rank 0 decides; every decision (resume from where, stop now) is shared
 * with all ranks so that they act together.
 */
#ifndef NLPC_LOOP_H
#define NLPC_LOOP_H

#include <stddef.h>

#include "config.h"
#include "data.h"
#include "net.h"
#include "train.h"

typedef struct {
    double train_seconds;   /* of this run, resumed part only, without
                             * the validation monitor */
    double monitor_seconds; /* spent measuring validation accuracy */
    double final_goal;      /* goal error of the last iteration, or NAN */
    int done;               /* iterations completed in all */
    int stopped;            /* 1 when a signal ended training early */
    int checkpointed;       /* 1 when the stop left a checkpoint */
} LoopResult;

/* Catch SIGUSR1 and SIGTERM: the first asks the loop to stop after the
 * current iteration (rank 0 says so on stderr), the second ends the
 * process at once. */
void loop_signals_install(int rank);

/* Where to start, from [checkpoint] resume: 0, or the iteration of the
 * checkpoint whose state is now loaded. Returns -1 on every rank with a
 * message in err (rank 0) when no allowed start exists. Collective. */
int loop_resume(Trainer *tr, const NlpcConfig *c, const NetTopo *t,
                char *err, size_t errlen);

/* Train from iteration `start` to c->iterations, with progress, the run
 * log, checkpoints, signal handling and, every [eval] monitor_every
 * iterations, the validation accuracy (d is read on rank 0 only; counts
 * of the training, validation and test images on every rank).
 * Collective. */
void loop_train(Trainer *tr, const NlpcConfig *c, const NetTopo *t,
                const DataSplit *d, const long counts[3], int start,
                LoopResult *res);

#endif
