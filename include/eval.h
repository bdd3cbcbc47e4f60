/*
 * eval.h - the paper's evaluation: a linear SVM (liblinear) on the sparse
 * outputs of the last node.
 *
 * Features arrive as dense column-major chunks (one column per sample) and
 * are stored as liblinear's sparse rows, zeros dropped. This module never
 * exits; liblinear's own printing is silenced.
 */
#ifndef NLPC_EVAL_H
#define NLPC_EVAL_H

#include <stddef.h>

typedef struct EvalFeatures EvalFeatures;
typedef struct EvalModel EvalModel;

/* An empty feature set for samples of `dim` values; NULL on no memory. */
EvalFeatures *eval_features_new(int dim);

/* Append `count` samples: u is dim x count column-major, labels[count]. */
int eval_features_append(EvalFeatures *f, const double *u, int count,
                         const int *labels);

int eval_features_count(const EvalFeatures *f);

/* Feature values actually stored (the nonzeros appended so far). */
size_t eval_features_nonzeros(const EvalFeatures *f);

/* Root mean square over all dim*count entries (zeros included). */
double eval_features_rms(const EvalFeatures *f);

/* Multiply every stored value by s. */
void eval_features_scale(EvalFeatures *f, double s);

void eval_features_free(EvalFeatures *f);

/* Train an L2-regularised L2-loss linear SVM with cost C and tolerance
 * eps, in the primal (liblinear -s 2) when primal is set, else in the dual
 * (-s 1); liblinear's rand() is seeded with `seed` first. Returns NULL
 * with a message in err on failure. */
EvalModel *eval_svm_train(const EvalFeatures *train, double C, double eps,
                          int primal, unsigned seed, char *err,
                          size_t errlen);

/* Fraction of samples in f the model classifies correctly. */
double eval_svm_accuracy(const EvalModel *m, const EvalFeatures *f);

/* The model's confusion matrix on f: conf[t * classes + p] counts the
 * samples of label t (0..classes-1) predicted as p. 0, or -1 when a label
 * lies outside 0..classes-1 or the shapes differ. */
int eval_svm_confusion(const EvalModel *m, const EvalFeatures *f,
                       int classes, long *conf);

/* Write the model as liblinear's text model file (save_model; readable
 * by liblinear's load_model and its predict tool), through "<path>.tmp"
 * renamed into place. 0 or -1 with a message in err. */
int eval_svm_save(const EvalModel *m, const char *path, char *err,
                  size_t errlen);

void eval_svm_free(EvalModel *m);

#endif
