/*
 * test_eval.c - the sparse feature store and the liblinear SVM: a
 * separable problem is learned perfectly, labels without information give
 * chance, and rms / scale / zero-dropping agree with the dense data.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "eval.h"

#define DIM 20
#define CLASSES 3
#define SAMPLES 300

/* A small deterministic generator of our own (64-bit LCG, top bits), so
 * the data do not depend on rand(), which liblinear reseeds. */
static double uniform(uint64_t *s)
{
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return (double)(*s >> 11) / 9007199254740992.0;
}

/* Class k lights features 5k .. 5k+4 at about 10; every other feature is
 * zero half of the time and in [-1, 1] otherwise. The class blocks do
 * not overlap, so the classes are linearly separable by a wide margin. */
static void make_clusters(double *u, int *labels, int n, uint64_t seed)
{
    uint64_t s = seed;

    for (int i = 0; i < n; i++) {
        int k = i % CLASSES;
        double *col = u + (size_t)i * DIM;

        labels[i] = k + 1;
        for (int d = 0; d < DIM; d++) {
            if (d / 5 == k)
                col[d] = 10.0 + uniform(&s);
            else if (uniform(&s) < 0.5)
                col[d] = 0.0;
            else
                col[d] = 2.0 * uniform(&s) - 1.0;
        }
    }
}

/* Fisher-Yates over the labels: same class sizes, no information. */
static void shuffle(int *labels, int n, uint64_t seed)
{
    uint64_t s = seed;

    for (int i = n - 1; i > 0; i--) {
        int j = (int)(uniform(&s) * (i + 1));
        int t = labels[i];

        labels[i] = labels[j];
        labels[j] = t;
    }
}

static EvalFeatures *features(const double *u, const int *labels, int n)
{
    EvalFeatures *f = eval_features_new(DIM);

    assert_non_null(f);
    assert_int_equal(eval_features_append(f, u, n, labels), 0);
    assert_int_equal(eval_features_count(f), n);
    return f;
}

static EvalModel *train_ok(const EvalFeatures *f, int primal)
{
    char err[256] = "";
    EvalModel *m = eval_svm_train(f, 1.0, 0.01, primal, 1u, err,
                                  sizeof err);

    if (m == NULL)
        fail_msg("eval_svm_train: %s", err);
    return m;
}

static void separable_classes_are_learned_exactly(int primal)
{
    static double u[SAMPLES * DIM], v[SAMPLES * DIM];
    int yu[SAMPLES], yv[SAMPLES];
    EvalFeatures *tr, *te;
    EvalModel *m;

    make_clusters(u, yu, SAMPLES, 11);
    make_clusters(v, yv, SAMPLES, 22);
    tr = features(u, yu, SAMPLES);
    te = features(v, yv, SAMPLES);
    m = train_ok(tr, primal);
    assert_true(eval_svm_accuracy(m, tr) == 1.0);
    assert_true(eval_svm_accuracy(m, te) == 1.0);
    eval_svm_free(m);
    eval_features_free(tr);
    eval_features_free(te);
}

static void test_separable_classes_are_learned_in_the_dual(void **state)
{
    (void)state;
    separable_classes_are_learned_exactly(0);
}

static void test_separable_classes_are_learned_in_the_primal(void **state)
{
    (void)state;
    separable_classes_are_learned_exactly(1);
}

/* Train and test labels are both shuffled, so the test labels are
 * independent of the model and of the test features: whatever it
 * predicts, each test sample is right with probability 1/3. The count
 * right then has mean 100 of 300 and a standard deviation of at most
 * the binomial sqrt(300 * 1/3 * 2/3) = 8.2, so 150 (0.5) is six
 * deviations away and 0.2 is about five below: both bounds are safe. */
static void test_shuffled_labels_give_chance(void **state)
{
    static double u[SAMPLES * DIM], v[SAMPLES * DIM];
    int yu[SAMPLES], yv[SAMPLES];
    EvalFeatures *tr, *te;
    EvalModel *m;
    double acc;

    (void)state;
    make_clusters(u, yu, SAMPLES, 33);
    make_clusters(v, yv, SAMPLES, 44);
    shuffle(yu, SAMPLES, 55);
    shuffle(yv, SAMPLES, 66);
    tr = features(u, yu, SAMPLES);
    te = features(v, yv, SAMPLES);
    m = train_ok(tr, 1);
    acc = eval_svm_accuracy(m, te);
    assert_true(acc < 0.5);
    assert_true(acc > 0.2);
    eval_svm_free(m);
    eval_features_free(tr);
    eval_features_free(te);
}

static double dense_rms(const double *u, size_t n)
{
    double sum = 0.0;

    for (size_t k = 0; k < n; k++)
        sum += u[k] * u[k];
    return sqrt(sum / (double)n);
}

/* Appended in two chunks so that the pool has to grow in between. */
static void test_rms_matches_dense_data(void **state)
{
    static double u[SAMPLES * DIM];
    int y[SAMPLES];
    EvalFeatures *f = eval_features_new(DIM);
    double want;

    (void)state;
    make_clusters(u, y, SAMPLES, 77);
    want = dense_rms(u, (size_t)SAMPLES * DIM);
    assert_non_null(f);
    assert_int_equal(eval_features_append(f, u, 100, y), 0);
    assert_int_equal(eval_features_append(f, u + 100 * DIM, SAMPLES - 100,
                                          y + 100), 0);
    assert_int_equal(eval_features_count(f), SAMPLES);
    assert_true(fabs(eval_features_rms(f) - want) <= 1e-12 * want);
    eval_features_free(f);
}

static void test_scale_by_two_doubles_rms(void **state)
{
    static double u[SAMPLES * DIM];
    int y[SAMPLES];
    EvalFeatures *f;
    double before;

    (void)state;
    make_clusters(u, y, SAMPLES, 88);
    f = features(u, y, SAMPLES);
    before = eval_features_rms(f);
    eval_features_scale(f, 2.0);
    assert_true(fabs(eval_features_rms(f) - 2.0 * before)
                <= 1e-12 * before);
    eval_features_free(f);
}

static void test_zeros_are_not_stored(void **state)
{
    static double u[SAMPLES * DIM];
    int y[SAMPLES];
    size_t nonzero = 0;
    EvalFeatures *f;

    (void)state;
    make_clusters(u, y, SAMPLES, 99);
    for (size_t k = 0; k < (size_t)SAMPLES * DIM; k++)
        nonzero += u[k] != 0.0;
    assert_true(nonzero < (size_t)SAMPLES * DIM * 3 / 4);
    f = features(u, y, SAMPLES);
    assert_int_equal(eval_features_nonzeros(f), nonzero);
    eval_features_free(f);
}

static void test_all_zero_samples_have_rms_zero(void **state)
{
    double u[3 * DIM] = { 0 };
    int y[3] = { 1, 2, 1 };
    EvalFeatures *f;

    (void)state;
    f = features(u, y, 3);
    assert_int_equal(eval_features_nonzeros(f), 0);
    assert_true(eval_features_rms(f) == 0.0);
    eval_features_free(f);
}

static void test_empty_training_set_is_refused(void **state)
{
    EvalFeatures *f = eval_features_new(DIM);
    char err[256] = "";

    (void)state;
    assert_non_null(f);
    assert_null(eval_svm_train(f, 1.0, 0.01, 1, 1u, err, sizeof err));
    assert_true(strlen(err) > 0);
    eval_features_free(f);
}

static void test_nonpositive_cost_is_refused(void **state)
{
    static double u[SAMPLES * DIM];
    int y[SAMPLES];
    char err[256] = "";
    EvalFeatures *f;

    (void)state;
    make_clusters(u, y, SAMPLES, 5);
    f = features(u, y, SAMPLES);
    assert_null(eval_svm_train(f, -1.0, 0.01, 1, 1u, err, sizeof err));
    assert_non_null(strstr(err, "C"));
    eval_features_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_separable_classes_are_learned_in_the_dual),
        cmocka_unit_test(test_separable_classes_are_learned_in_the_primal),
        cmocka_unit_test(test_shuffled_labels_give_chance),
        cmocka_unit_test(test_rms_matches_dense_data),
        cmocka_unit_test(test_scale_by_two_doubles_rms),
        cmocka_unit_test(test_zeros_are_not_stored),
        cmocka_unit_test(test_all_zero_samples_have_rms_zero),
        cmocka_unit_test(test_empty_training_set_is_refused),
        cmocka_unit_test(test_nonpositive_cost_is_refused),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
