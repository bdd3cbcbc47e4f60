/*
 * assess.c - forward every set, train the SVM, score (see assess.h).
 *
 * This is the only place where the trainer's final evaluation is
 * written down: the feature scaling, the liblinear call and the scores.
 * It deliberately does not pick C or any other setting; those come from
 * [eval] as they are.
 */
#include "assess.h"
#include "errmsg.h"

#include <math.h>
#include <string.h>
#include <time.h>

static const char *const set_names[ASSESS_SETS] = {
    "training split", "validation split", "test set"
};

const char *assess_set_name(int i)
{
    return i >= 0 && i < ASSESS_SETS ? set_names[i] : "?";
}

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* [eval] feature_scale = rms: one factor, from the training features, for
 * all three sets, so that the SVM's C means the same on any network */
static double scale_features(const NlpcConfig *c,
                             EvalFeatures *set[ASSESS_SETS])
{
    double rms, scale;

    if (c->feature_scale != CFG_FEAT_RMS)
        return 1.0;
    rms = eval_features_rms(set[ASSESS_TRAIN]);
    scale = rms > 0.0 ? 1.0 / rms : 1.0;
    for (int i = 0; i < ASSESS_SETS; i++)
        if (set[i])
            eval_features_scale(set[i], scale);
    return scale;
}

int assess_features(const NlpcConfig *c, EvalFeatures *set[ASSESS_SETS],
                    AssessResult *r, EvalModel **model, FILE *progress,
                    char *err, size_t errlen)
{
    double t0 = now();
    EvalModel *m;

    if (progress) {
        fprintf(progress, "svm       liblinear L2-loss SVM (%s), C = %g, "
                "eps = %g, on %d samples ...", c->svm_solver
                == CFG_SVM_PRIMAL ? "primal" : "dual", c->svm_c, c->svm_eps,
                eval_features_count(set[ASSESS_TRAIN]));
        fflush(progress);
    }
    r->scale = scale_features(c, set);
    m = eval_svm_train(set[ASSESS_TRAIN], c->svm_c, c->svm_eps,
                       c->svm_solver == CFG_SVM_PRIMAL, (unsigned)c->seed,
                       err, errlen);
    if (!m)
        return -1;
    r->train_accuracy = eval_svm_accuracy(m, set[ASSESS_TRAIN]);
    r->val_accuracy = set[ASSESS_VAL] ? eval_svm_accuracy(m, set[ASSESS_VAL])
                                      : -1.0;
    r->test_accuracy = set[ASSESS_TEST]
                       ? eval_svm_accuracy(m, set[ASSESS_TEST]) : -1.0;
    if (set[ASSESS_TEST]
        && eval_svm_confusion(m, set[ASSESS_TEST], DATA_CLASSES,
                              &r->confusion[0][0]) != 0) {
        eval_svm_free(m);
        return err_set(err, errlen, "a test label lies outside 0..%d",
                       DATA_CLASSES - 1);
    }
    if (model)
        *model = m;
    else
        eval_svm_free(m);
    r->svm_seconds = now() - t0;
    if (progress)
        fprintf(progress, " %.2f s\n", r->svm_seconds);
    return 0;
}

/* collective: one set through the network into features on rank 0 */
static EvalFeatures *forward_set(Trainer *tr, const NlpcConfig *c,
                                 const DataSet *s, long count, int i,
                                 int root, FILE *progress, double *seconds)
{
    EvalFeatures *f = root ? eval_features_new(c->width) : NULL;
    double t0 = now();

    if (root && progress) {
        fprintf(progress, "forward   %s, %ld images ...",
                assess_set_name(i), count);
        fflush(progress);
    }
    train_features(tr, root ? s : NULL, count, f);
    *seconds = now() - t0;
    if (root && progress)
        fprintf(progress, " %.2f s\n", *seconds);
    return f;
}

int assess_network(Trainer *tr, const NlpcConfig *c, const DataSplit *d,
                   const long counts[ASSESS_SETS], int rank,
                   AssessResult *r, EvalModel **model, FILE *progress,
                   char *err, size_t errlen)
{
    const DataSet *sets[ASSESS_SETS] = { &d->train, &d->val, &d->test };
    EvalFeatures *f[ASSESS_SETS] = { NULL, NULL, NULL };
    double seconds[ASSESS_SETS] = { 0.0, 0.0, 0.0 };
    int root = rank == 0, rc = 0;

    for (int i = 0; i < ASSESS_SETS; i++)
        if (i == ASSESS_TRAIN || counts[i] > 0)
            f[i] = forward_set(tr, c, sets[i], counts[i], i, root, progress,
                               &seconds[i]);
    if (root) {
        rc = assess_features(c, f, r, model, progress, err, errlen);
        memcpy(r->forward_seconds, seconds, sizeof(seconds));
    }
    for (int i = 0; i < ASSESS_SETS; i++)
        eval_features_free(f[i]);
    return rc;
}

int assess_pixels(const NlpcConfig *c, const DataSplit *d, AssessResult *r,
                  EvalModel **model, FILE *progress, char *err,
                  size_t errlen)
{
    const DataSet *sets[ASSESS_SETS] = { &d->train, &d->val, &d->test };
    EvalFeatures *f[ASSESS_SETS] = { NULL, NULL, NULL };
    int rc = 0;

    for (int i = 0; i < ASSESS_SETS && rc == 0; i++) {
        const DataSet *s = sets[i];

        if (i == ASSESS_VAL && s->count == 0)
            continue;
        f[i] = eval_features_new(s->dim);
        if (!f[i] || eval_features_append(f[i], s->x, s->count, s->y) != 0)
            rc = err_set(err, errlen, "out of memory for the pixels of the "
                         "%s as features", assess_set_name(i));
    }
    memset(r->forward_seconds, 0, sizeof(r->forward_seconds));
    if (rc == 0)
        rc = assess_features(c, f, r, model, progress, err, errlen);
    for (int i = 0; i < ASSESS_SETS; i++)
        eval_features_free(f[i]);
    return rc;
}

double assess_monitor(Trainer *tr, const NlpcConfig *c, const DataSplit *d,
                      const long counts[ASSESS_SETS], int rank)
{
    long n = c->monitor_train > 0 && c->monitor_train < counts[ASSESS_TRAIN]
             ? c->monitor_train : counts[ASSESS_TRAIN];
    long sub[ASSESS_SETS] = { n, counts[ASSESS_VAL], 0 };
    char err[CFG_ERR_MAX];
    AssessResult r;

    if (counts[ASSESS_VAL] <= 0)
        return NAN;
    memset(&r, 0, sizeof(r));
    if (assess_network(tr, c, d, sub, rank, &r, NULL, NULL, err,
                       sizeof(err)) != 0) {
        fprintf(stderr, "WARNING: validation monitor: %s\n", err);
        return NAN;
    }
    return rank == 0 ? r.val_accuracy : NAN;
}
