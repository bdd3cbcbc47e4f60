/*
 * evaluate.h - the paper's evaluation of a network as it stands: push
 * images through the learned sNT network in chunks, train a linear SVM on
 * the last node's training outputs and score each set.
 *
 * Used at the end of a run and, every [eval] monitor_every iterations,
 * for the validation curve. The data split is read on rank 0 only; the
 * counts are known on every rank. Functions marked collective must be
 * called by every rank.
 */
#ifndef NLPC_EVALUATE_H
#define NLPC_EVALUATE_H

#include <stddef.h>

#include "config.h"
#include "data.h"
#include "net.h"
#include "train.h"

/* Accuracies of one evaluation; -1 for a set that was not scored. */
typedef struct {
    double train, val, test;
    double forward_seconds;     /* spent pushing images through */
} EvalResult;

/* The whole evaluation: counts[0..2] images of the training split, the
 * validation split and the test set. Rank 0 gets the result; returns 0,
 * or -1 on rank 0 with a message (the SVM failed). Collective. */
int evaluate_network(Trainer *tr, const NlpcConfig *c, const NetTopo *t,
                     const DataSplit *d, const long counts[3],
                     EvalResult *r, char *err, size_t errlen);

/* Validation accuracy for the monitor: the SVM learns from the first
 * [eval] monitor_train training images (all when 0) and is scored on the
 * validation split. NAN without a validation split, and on ranks other
 * than 0. Collective. */
double evaluate_monitor(Trainer *tr, const NlpcConfig *c, const NetTopo *t,
                        const DataSplit *d, const long counts[3]);

#endif
