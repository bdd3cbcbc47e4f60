/*
 * test_nlpc_eval.c - the nlpc_eval program: evaluating a run's final
 * checkpoint or weights.h5 gives exactly the accuracies the training run
 * reported; an [eval] change gives what the trainer gives with it; the
 * untrained baseline is the run with no iteration; the raw baseline
 * learns a separable pixel set perfectly; a width that does not fit the
 * data, a key outside [data] and [eval], and corrupt or truncated files
 * are refused with a message and a non-zero status.
 *
 * Runs bin/nlpc_mpi and bin/nlpc_eval on the harness's tiny synthetic
 * data (3 nodes of width 32) from the repository root, after `make`.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>
#include <linear.h>

#include "ckpt.h"
#include "harness.h"
#include "rng.h"

#define RUN TMP "/ev"
#define CKPT RUN "/checkpoints/ckpt-00000005.h5"
#define SEP TMP "/separable"
#define EVAL "bin/nlpc_eval "
#define TEST_IMAGES 100         /* the harness's test set: k % 10 */

static cJSON *json_file(const char *path)
{
    long len;
    unsigned char *text = harness_slurp(path, &len);
    cJSON *j = cJSON_Parse((const char *)text);

    free(text);
    if (!j)
        fail_msg("%s does not parse as JSON", path);
    return j;
}

static double json_number(const cJSON *j, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, name);

    if (!cJSON_IsNumber(v))
        fail_msg("no number '%s' in the JSON", name);
    return v->valuedouble;
}

/* the three accuracies of two JSON records are the same doubles */
static void assert_same_accuracies(const cJSON *a, const cJSON *b)
{
    static const char *const names[] = { "train_accuracy",
                                          "validation_accuracy",
                                          "test_accuracy" };

    for (int i = 0; i < 3; i++) {
        double x = json_number(a, names[i]), y = json_number(b, names[i]);

        if (x != y)
            fail_msg("%s: %.17g against %.17g", names[i], x, y);
    }
}

/* the text after "test accuracy " on the last line that has it */
static void printed_test_accuracy(const char *log, char *out, size_t len)
{
    char line[512];
    FILE *f = fopen(log, "r");

    assert_non_null(f);
    out[0] = '\0';
    while (fgets(line, sizeof(line), f))
        if (!strncmp(line, "test accuracy ", 14))
            sscanf(line + 14, "%31s", out);
    fclose(f);
    assert_true(out[0] != '\0' && len > 0);
}

static int group_setup(void **state)
{
    if (harness_setup(state) != 0)
        return -1;
    train_with(3, RUN, "");
    return 0;
}

static void summary_parses_and_holds_the_printed_accuracy(void **state)
{
    cJSON *s = json_file(RUN "/summary.json");
    char printed[32], want[32];

    (void)state;
    printed_test_accuracy(RUN ".log", printed, sizeof(printed));
    snprintf(want, sizeof(want), "%.2f%%",
             100.0 * json_number(s, "test_accuracy"));
    assert_string_equal(printed, want);
    cJSON_Delete(s);
}

/* the confusion matrix of record e against the test labels (ten of each
 * class) and its own accuracies */
static void assert_confusion_fits(const cJSON *e)
{
    const cJSON *conf = cJSON_GetObjectItemCaseSensitive(e,
                                                         "test_confusion");
    const cJSON *per = cJSON_GetObjectItemCaseSensitive(
        e, "per_class_test_accuracy");
    double right = 0.0;

    assert_int_equal(cJSON_GetArraySize(conf), 10);
    for (int t = 0; t < 10; t++) {
        const cJSON *row = cJSON_GetArrayItem(conf, t);
        double n = 0.0, diag = cJSON_GetArrayItem(row, t)->valuedouble;

        for (int p = 0; p < 10; p++)
            n += cJSON_GetArrayItem(row, p)->valuedouble;
        assert_true(n == TEST_IMAGES / 10);
        assert_true(cJSON_GetArrayItem(per, t)->valuedouble == diag / n);
        right += diag;
    }
    assert_true(right / TEST_IMAGES == json_number(e, "test_accuracy"));
}

static void checkpoint_gives_the_runs_accuracies(void **state)
{
    cJSON *s, *e;
    struct model *m;

    (void)state;
    assert_int_equal(run(EVAL CKPT, TMP "/eval_ckpt.log"), 0);
    s = json_file(RUN "/summary.json");
    e = json_file(CKPT ".eval.json");
    assert_same_accuracies(s, e);
    assert_confusion_fits(e);
    /* the model is liblinear's own file */
    m = load_model(CKPT ".svm");
    assert_non_null(m);
    assert_int_equal(get_nr_class(m), 10);
    assert_int_equal(get_nr_feature(m), 32);
    free_and_destroy_model(&m);
    cJSON_Delete(s);
    cJSON_Delete(e);
}

static void weights_give_the_runs_accuracies(void **state)
{
    cJSON *s, *e;

    (void)state;
    assert_int_equal(run(EVAL "--out " TMP "/w.json " RUN "/weights.h5",
                         TMP "/eval_w.log"), 0);
    s = json_file(RUN "/summary.json");
    e = json_file(TMP "/w.json");
    assert_same_accuracies(s, e);
    assert_true(json_number(e, "iteration") == 5.0);
    cJSON_Delete(s);
    cJSON_Delete(e);
}

/* a finished run started again with another [eval] only evaluates again:
 * nlpc_eval with the same --set must agree with it */
static void eval_key_gives_what_the_trainer_gives(void **state)
{
    cJSON *s, *e;

    (void)state;
    assert_int_equal(system("rm -rf " TMP "/evc && cp -r " RUN " " TMP
                            "/evc"), 0);
    train_with(3, TMP "/evc", "--set eval.svm_c=0.05 "
               "--set eval.svm_solver=dual");
    assert_int_equal(run(EVAL "--set eval.svm_c=0.05 --set eval.svm_solver="
                         "dual --out " TMP "/c.json " CKPT, TMP "/c.log"), 0);
    s = json_file(TMP "/evc/summary.json");
    e = json_file(TMP "/c.json");
    assert_same_accuracies(s, e);
    cJSON_Delete(s);
    cJSON_Delete(e);
}

static void untrained_baseline_is_the_run_without_iterations(void **state)
{
    cJSON *s, *e;

    (void)state;
    train_with(1, TMP "/ev0", "--set train.iterations=0");
    assert_int_equal(run(EVAL "--baseline untrained --set data.dir=" DATA
                         " --out " TMP "/u.json configs/tiny.ini",
                         TMP "/u.log"), 0);
    s = json_file(TMP "/ev0/summary.json");
    e = json_file(TMP "/u.json");
    assert_same_accuracies(s, e);
    cJSON_Delete(s);
    cJSON_Delete(e);
}

/* n images of 6 x 6 pixels, image k of class k % 10: pixels 3c .. 3c+2
 * in 200..255, every other pixel in 0..60. After per-image
 * standardisation class c's three pixels stay far above the rest, so the
 * sum of those pixels separates class c from the others. */
static void write_separable(const char *images, const char *labels, int n,
                            Rng *r)
{
    uint8_t *pix = malloc((size_t)n * 36), *lab = malloc((size_t)n);
    double u[36];

    for (int k = 0; k < n; k++) {
        int c = k % 10;

        lab[k] = (uint8_t)c;
        rng_uniform(r, u, 36);
        for (int j = 0; j < 36; j++)
            pix[(size_t)k * 36 + j] = (uint8_t)(j / 3 == c ? 200 + 55 * u[j]
                                                           : 60 * u[j]);
    }
    harness_write_idx(images, labels, n, 6, 6, pix, lab);
    free(pix);
    free(lab);
}

static void raw_baseline_learns_separable_pixels(void **state)
{
    cJSON *e;
    Rng r;

    (void)state;
    assert_int_equal(system("mkdir -p " SEP), 0);
    rng_init(&r, 21, 1);
    write_separable(SEP "/train-images-idx3-ubyte",
                    SEP "/train-labels-idx1-ubyte", 300, &r);
    write_separable(SEP "/t10k-images-idx3-ubyte",
                    SEP "/t10k-labels-idx1-ubyte", 100, &r);
    assert_int_equal(run(EVAL "--baseline raw --set data.dir=" SEP
                         " --out " TMP "/raw.json configs/tiny.ini",
                         TMP "/raw.log"), 0);
    e = json_file(TMP "/raw.json");
    assert_true(json_number(e, "test_accuracy") == 1.0);
    assert_true(json_number(e, "train_accuracy") == 1.0);
    assert_true(json_number(e, "width") == 36.0);
    cJSON_Delete(e);
}

/* runs after raw_baseline_learns_separable_pixels, which writes SEP */
static void width_that_does_not_fit_the_data_is_refused(void **state)
{
    const char *log = TMP "/width.log";

    (void)state;
    assert_int_not_equal(run(EVAL "--set data.dir=" SEP " " CKPT, log), 0);
    assert_true(file_mentions(log, "width 32"));
    assert_true(file_mentions(log, "36 pixels"));
}

static void keys_outside_data_and_eval_are_refused(void **state)
{
    const char *log = TMP "/key.log";

    (void)state;
    assert_int_not_equal(run(EVAL "--set network.nodes=2 " CKPT, log), 0);
    assert_true(file_mentions(log, "network.nodes=2"));
    assert_true(file_mentions(log, "only [data] and [eval]"));
    assert_int_not_equal(run(EVAL "--set train.seed=7 " RUN "/weights.h5",
                             log), 0);
    assert_true(file_mentions(log, "train.seed=7"));
}

/* one byte of the weight A_0(0, 0) changed on disk: the checksum fails */
static void changed_byte_in_a_checkpoint_is_refused(void **state)
{
    const char *bad = TMP "/bad/ckpt-00000005.h5", *log = TMP "/flip.log";
    char err[512];
    unsigned char *bytes, *hit = NULL;
    CkptState s;
    long len;
    FILE *f;

    (void)state;
    assert_int_equal(ckpt_read(CKPT, &s, err, sizeof(err)), 0);
    bytes = harness_slurp(CKPT, &len);
    for (long i = 0; i + 8 <= len && !hit; i++)
        if (memcmp(bytes + i, &s.A[0][0], 8) == 0)
            hit = bytes + i;
    assert_non_null(hit);
    hit[2] ^= 0x20;
    assert_int_equal(system("mkdir -p " TMP "/bad"), 0);
    f = fopen(bad, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(bytes, 1, (size_t)len, f), (size_t)len);
    assert_int_equal(fclose(f), 0);
    assert_int_not_equal(run(EVAL "--out " TMP "/flip.json " "" TMP
                             "/bad/ckpt-00000005.h5", log), 0);
    assert_true(file_mentions(log, bad));
    assert_true(file_mentions(log, "cannot read"));
    free(bytes);
    ckpt_state_free(&s);
}

static void truncated_checkpoint_is_refused(void **state)
{
    const char *log = TMP "/cut.log";

    (void)state;
    assert_int_equal(system("mkdir -p " TMP "/cut && head -c 4000 " CKPT
                            " > " TMP "/cut/ckpt-00000005.h5"), 0);
    assert_int_not_equal(run(EVAL TMP "/cut/ckpt-00000005.h5", log), 0);
    assert_true(file_mentions(log, "truncated"));
}

static void help_explains_the_baselines_and_keys(void **state)
{
    const char *log = TMP "/help.log";

    (void)state;
    assert_int_equal(run(EVAL "--help", log), 0);
    assert_true(file_mentions(log, "--baseline untrained"));
    assert_true(file_mentions(log, "eval.svm_c"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(summary_parses_and_holds_the_printed_accuracy),
        cmocka_unit_test(checkpoint_gives_the_runs_accuracies),
        cmocka_unit_test(weights_give_the_runs_accuracies),
        cmocka_unit_test(eval_key_gives_what_the_trainer_gives),
        cmocka_unit_test(untrained_baseline_is_the_run_without_iterations),
        cmocka_unit_test(raw_baseline_learns_separable_pixels),
        cmocka_unit_test(width_that_does_not_fit_the_data_is_refused),
        cmocka_unit_test(keys_outside_data_and_eval_are_refused),
        cmocka_unit_test(changed_byte_in_a_checkpoint_is_refused),
        cmocka_unit_test(truncated_checkpoint_is_refused),
        cmocka_unit_test(help_explains_the_baselines_and_keys),
    };

    return cmocka_run_group_tests(tests, group_setup, NULL);
}
