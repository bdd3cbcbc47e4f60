/*
 * assess.h - the paper's measure of a network, in one place for the
 * trainer (nlpc_mpi, at the end of a run) and for nlpc_eval: push the
 * training split, the validation split and the test set through the sNT
 * network, scale the last node's outputs ([eval] feature_scale), train
 * liblinear on the training outputs ([eval] svm_solver, svm_c, svm_eps,
 * seeded by train.seed) and score every set.
 *
 * Because both programs call these functions, a network evaluated again
 * from its checkpoint gets the accuracy its training run reported, bit for
 * bit. Nothing here exits or writes files; it prints progress only to the
 * stream it is given.
 */
#ifndef NLPC_ASSESS_H
#define NLPC_ASSESS_H

#include <stdio.h>

#include "config.h"
#include "data.h"
#include "eval.h"
#include "train.h"

/* The three sets of a DataSplit, in the order of its members. */
enum { ASSESS_TRAIN, ASSESS_VAL, ASSESS_TEST, ASSESS_SETS };

typedef struct {
    double train_accuracy;
    double val_accuracy;        /* < 0 when there is no validation split */
    double test_accuracy;
    long confusion[DATA_CLASSES][DATA_CLASSES]; /* test: [true][predicted] */
    double scale;               /* factor applied to every feature */
    double forward_seconds[ASSESS_SETS];        /* per set */
    double svm_seconds;         /* scaling, training and scoring */
} AssessResult;

/* Name of set i ("training split", "validation split", "test set"). */
const char *assess_set_name(int i);

/* Rank 0: scale the features of the three sets (set[ASSESS_VAL] may be
 * NULL, and so may set[ASSESS_TEST], whose accuracy is then -1) as
 * [eval] feature_scale says, train the SVM on set[ASSESS_TRAIN]
 * and fill r's accuracies, confusion, scale and svm_seconds. With model
 * not NULL the trained model is handed over in *model (the caller frees
 * it with eval_svm_free); otherwise it is freed. progress (may be NULL)
 * gets a line before and after the training. 0, or -1 with a message in
 * err. Not collective. */
int assess_features(const NlpcConfig *c, EvalFeatures *set[ASSESS_SETS],
                    AssessResult *r, EvalModel **model, FILE *progress,
                    char *err, size_t errlen);

/* Push every set of d (held on rank 0; counts[3] known on every rank)
 * through the network tr in chunks of [eval] eval_chunk, then
 * assess_features on rank 0 (rank is this process's; r, model, progress
 * and err are used on rank 0 only). Returns 0 on every rank but rank 0, where it returns
 * assess_features' result. Collective. */
int assess_network(Trainer *tr, const NlpcConfig *c, const DataSplit *d,
                   const long counts[ASSESS_SETS], int rank,
                   AssessResult *r, EvalModel **model, FILE *progress,
                   char *err, size_t errlen);

/* Validation accuracy for the monitor ([eval] monitor_every): the SVM
 * learns from the first [eval] monitor_train training images (all when 0)
 * and is scored on the validation split; the test set is not touched.
 * NAN without a validation split and on ranks other than 0. Collective. */
double assess_monitor(Trainer *tr, const NlpcConfig *c, const DataSplit *d,
                      const long counts[ASSESS_SETS], int rank);

/* Rank 0: the images of d themselves as features (the raw-pixel
 * baseline), then assess_features. 0 or -1 with a message in err. */
int assess_pixels(const NlpcConfig *c, const DataSplit *d, AssessResult *r,
                  EvalModel **model, FILE *progress, char *err,
                  size_t errlen);

#endif
