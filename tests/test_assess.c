/*
 * test_assess.c - the evaluation both programs share (assess.c): on ten
 * linearly separable classes it reaches 100% with the confusion matrix on
 * the diagonal; with shuffled training labels it stays near chance; the
 * confusion matrix puts each test image where it was placed; the feature
 * scale is the training features' 1 / rms.
 *
 * The problem: 100 sub-clusters, each on its own coordinate (a sample of
 * sub-cluster j is (1 + u / 2) e_j, u uniform in [0, 1)), sub-cluster j
 * of class j % 10. Class c is separated from the rest by the sum of e_j
 * over its ten sub-clusters, so the classes are linearly separable.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "assess.h"
#include "harness.h"
#include "rng.h"

#define CLUSTERS 100
#define PER_TRAIN 20
#define PER_TEST 10

typedef struct {
    double *x;
    int *y;
    int n;
} Set;

/* per samples of every sub-cluster j, placed in sub-cluster place(j) but
 * labelled j % 10 */
static Set make_set(int per, unsigned stream, int shift)
{
    Set s = { calloc((size_t)CLUSTERS * per * CLUSTERS, sizeof(double)),
              malloc((size_t)CLUSTERS * per * sizeof(int)), CLUSTERS * per };
    double u[CLUSTERS * PER_TRAIN];
    Rng r;

    assert_true(s.x && s.y && per <= PER_TRAIN);
    rng_init(&r, 3, stream);
    rng_uniform(&r, u, s.n);
    for (int k = 0; k < s.n; k++) {
        int j = k % CLUSTERS, at = (j + shift) % CLUSTERS;

        s.x[(size_t)k * CLUSTERS + at] = 1.0 + 0.5 * u[k];
        s.y[k] = j % DATA_CLASSES;
    }
    return s;
}

static EvalFeatures *features(const Set *s)
{
    EvalFeatures *f = eval_features_new(CLUSTERS);

    assert_non_null(f);
    assert_int_equal(eval_features_append(f, s->x, s->n, s->y), 0);
    return f;
}

static void free_set(Set *s)
{
    free(s->x);
    free(s->y);
}

/* assess_features with the default [eval] settings on train and test
 * (no validation split) */
static void assess(const Set *train, const Set *test, AssessResult *r)
{
    EvalFeatures *f[ASSESS_SETS] = { features(train), NULL,
                                     features(test) };
    char err[256] = "";
    NlpcConfig c;

    cfg_defaults(&c);
    memset(r, 0, sizeof(*r));
    if (assess_features(&c, f, r, NULL, NULL, err, sizeof(err)) != 0)
        fail_msg("assess_features: %s", err);
    eval_features_free(f[ASSESS_TRAIN]);
    eval_features_free(f[ASSESS_TEST]);
}

/* every test image of class t predicted as class t + shift: each class
 * has ten sub-clusters of PER_TEST test images */
static void assert_predicted_as(const AssessResult *r, int shift)
{
    for (int t = 0; t < DATA_CLASSES; t++)
        for (int p = 0; p < DATA_CLASSES; p++)
            assert_int_equal(r->confusion[t][p],
                             p == (t + shift) % DATA_CLASSES ? 10 * PER_TEST
                                                             : 0);
}

static void separable_classes_reach_100_percent(void **state)
{
    Set train = make_set(PER_TRAIN, 1, 0), test = make_set(PER_TEST, 2, 0);
    AssessResult r;

    (void)state;
    assess(&train, &test, &r);
    assert_true(r.train_accuracy == 1.0);
    assert_true(r.test_accuracy == 1.0);
    assert_true(r.val_accuracy < 0.0);
    assert_predicted_as(&r, 0);
    free_set(&train);
    free_set(&test);
}

/* Shuffled training labels carry no information, and they keep the
 * class sizes, so by symmetry each class is as likely as any other to be
 * predicted for a test image: the expected accuracy is 1/10. Each
 * sub-cluster sits on its own coordinate, so its prediction comes from
 * its own 20 shuffled labels, nearly independently of the others. Its
 * ten test images mostly go the same way; when all of them do (the case
 * of the widest spread) the accuracy is X / 100 with X ~ Binomial(100,
 * 1/10) sub-clusters right (mean 10, s.d. 3). P(X >= 25) = 1.3e-5 and
 * P(X <= 1) = 3.2e-4, hence 0.02 <= acc < 0.25. */
static void shuffled_training_labels_give_chance(void **state)
{
    Set train = make_set(PER_TRAIN, 1, 0), test = make_set(PER_TEST, 2, 0);
    AssessResult r;
    Rng rng;

    (void)state;
    rng_init(&rng, 5, 9);
    rng_shuffle(&rng, train.y, train.n);
    assess(&train, &test, &r);
    if (!(r.test_accuracy >= 0.02 && r.test_accuracy < 0.25))
        fail_msg("test accuracy %g with shuffled labels", r.test_accuracy);
    free_set(&train);
    free_set(&test);
}

/* Test images of sub-cluster j placed in sub-cluster j + 1 (one class
 * up) are predicted as class (t + 1) % 10 by a perfect classifier: the
 * confusion matrix must hold them all one column to the right. */
static void confusion_counts_each_image_where_it_lies(void **state)
{
    Set train = make_set(PER_TRAIN, 1, 0), test = make_set(PER_TEST, 3, 1);
    AssessResult r;

    (void)state;
    assess(&train, &test, &r);
    assert_true(r.test_accuracy == 0.0);
    assert_predicted_as(&r, 1);
    free_set(&train);
    free_set(&test);
}

static void feature_scale_is_one_over_training_rms(void **state)
{
    Set train = make_set(PER_TRAIN, 1, 0), test = make_set(PER_TEST, 2, 0);
    size_t len = (size_t)train.n * CLUSTERS;
    double sum = 0.0, want;
    AssessResult r;

    (void)state;
    for (size_t i = 0; i < len; i++)
        sum += train.x[i] * train.x[i];
    want = 1.0 / sqrt(sum / (double)len);
    assess(&train, &test, &r);
    /* two summation orders of the same 2000 squares */
    assert_true(fabs(r.scale - want) <= 1e-12 * want);
    free_set(&train);
    free_set(&test);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(separable_classes_reach_100_percent),
        cmocka_unit_test(shuffled_training_labels_give_chance),
        cmocka_unit_test(confusion_counts_each_image_where_it_lies),
        cmocka_unit_test(feature_scale_is_one_over_training_rms),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
