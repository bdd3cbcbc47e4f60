/*
 * evaluate.c - features through the learned network, then liblinear
 * (see evaluate.h).
 */
#include "evaluate.h"

#include <math.h>
#include <stdio.h>

#include <mpi.h>

#include "eval.h"

/* forward one set through the network into SVM features (rank 0) */
static EvalFeatures *features_of(Trainer *tr, const DataSet *s, long count,
                                 int dim, int rank)
{
    EvalFeatures *f = rank == 0 ? eval_features_new(dim) : NULL;

    train_features(tr, rank == 0 ? s : NULL, count, f);
    return f;
}

/* rank 0: scale by the training features' rms (or not), train the SVM on
 * ftr, score every set given */
static int score(const NlpcConfig *c, EvalFeatures *ftr, EvalFeatures *fval,
                 EvalFeatures *fte, EvalResult *r, char *err, size_t errlen)
{
    EvalModel *m;

    if (c->feature_scale == CFG_FEAT_RMS) {
        double rms = eval_features_rms(ftr);
        double scale = rms > 0.0 ? 1.0 / rms : 1.0;

        eval_features_scale(ftr, scale);
        if (fte)
            eval_features_scale(fte, scale);
        if (fval)
            eval_features_scale(fval, scale);
    }
    m = eval_svm_train(ftr, c->svm_c, c->svm_eps,
                       c->svm_solver == CFG_SVM_PRIMAL, (unsigned)c->seed,
                       err, errlen);
    if (!m)
        return -1;
    r->train = eval_svm_accuracy(m, ftr);
    r->val = fval ? eval_svm_accuracy(m, fval) : -1.0;
    r->test = fte ? eval_svm_accuracy(m, fte) : -1.0;
    eval_svm_free(m);
    return 0;
}

/* collective: features of the sets with a non-zero count, then the SVM */
static int evaluate_sets(Trainer *tr, const NlpcConfig *c,
                         const NetTopo *t, const DataSplit *d,
                         const long counts[3], EvalResult *r, char *err,
                         size_t errlen)
{
    int rank = t->rank, rc = 0;
    EvalFeatures *ftr, *fval = NULL, *fte = NULL;
    double t0 = MPI_Wtime();

    r->train = r->val = r->test = -1.0;
    ftr = features_of(tr, rank == 0 ? &d->train : NULL, counts[0],
                      c->width, rank);
    if (counts[1] > 0)
        fval = features_of(tr, rank == 0 ? &d->val : NULL, counts[1],
                           c->width, rank);
    if (counts[2] > 0)
        fte = features_of(tr, rank == 0 ? &d->test : NULL, counts[2],
                          c->width, rank);
    r->forward_seconds = MPI_Wtime() - t0;
    if (rank == 0)
        rc = score(c, ftr, fval, fte, r, err, errlen);
    eval_features_free(ftr);
    eval_features_free(fval);
    eval_features_free(fte);
    return rc;
}

int evaluate_network(Trainer *tr, const NlpcConfig *c, const NetTopo *t,
                     const DataSplit *d, const long counts[3],
                     EvalResult *r, char *err, size_t errlen)
{
    return evaluate_sets(tr, c, t, d, counts, r, err, errlen);
}

double evaluate_monitor(Trainer *tr, const NlpcConfig *c, const NetTopo *t,
                        const DataSplit *d, const long counts[3])
{
    long n = c->monitor_train > 0 && c->monitor_train < counts[0]
             ? c->monitor_train : counts[0];
    long sub[3] = { n, counts[1], 0 };
    char err[CFG_ERR_MAX];
    EvalResult r;

    if (counts[1] <= 0)
        return NAN;
    if (evaluate_sets(tr, c, t, d, sub, &r, err, sizeof(err)) != 0) {
        if (t->rank == 0)
            fprintf(stderr, "WARNING: validation monitor: %s\n", err);
        return NAN;
    }
    return t->rank == 0 ? r.val : NAN;
}
