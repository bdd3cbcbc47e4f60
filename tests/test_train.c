/*
 * test_train.c - the whole program under mpirun: the same configuration
 * and seed give bitwise identical weights on 1 rank and on L ranks, and
 * bad input (unknown key, corrupt data, a rank count that does not fit)
 * ends every rank with a message and a non-zero status.
 *
 * Runs bin/nlpc_mpi on a tiny synthetic data set (3 nodes of width 32,
 * a few hundred samples) written under tests/tmp/; run from the
 * repository root after `make`.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <cJSON.h>

#include "output.h"
#include "rng.h"

#define TMP "tests/tmp"
#define DATA TMP "/data"
#define DIM 32
#define MPIRUN "mpirun --bind-to none "
#define PROG "bin/nlpc_mpi --set data.dir=" DATA " "

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* n images of 4 x 8 pixels: a class-specific bar pattern plus noise, so
 * that the classes are learnable but not trivially separable */
static void write_images(const char *path, int n, Rng *r)
{
    size_t len = 16 + (size_t)n * DIM;
    uint8_t *b = malloc(len);
    double noise[DIM];
    FILE *f = fopen(path, "wb");

    put32(b, 0x803);
    put32(b + 4, (uint32_t)n);
    put32(b + 8, 4);
    put32(b + 12, 8);
    for (int k = 0; k < n; k++) {
        int c = k % 10;

        rng_uniform(r, noise, DIM);
        for (int j = 0; j < DIM; j++) {
            int bar = (j * 7 + c * 3) % 10 < 3;   /* distinct per class */
            double v = 90.0 * noise[j] + (bar ? 140.0 : 20.0);

            b[16 + (size_t)k * DIM + j] = (uint8_t)(v > 255 ? 255 : v);
        }
    }
    fwrite(b, 1, len, f);
    fclose(f);
    free(b);
}

static void write_labels(const char *path, int n)
{
    FILE *f = fopen(path, "wb");
    uint8_t h[8];

    put32(h, 0x801);
    put32(h + 4, (uint32_t)n);
    fwrite(h, 1, 8, f);
    for (int k = 0; k < n; k++)
        fputc(k % 10, f);
    fclose(f);
}

static int setup_data(void **state)
{
    Rng r;

    (void)state;
    mkdir(TMP, 0777);
    mkdir(DATA, 0777);
    rng_init(&r, 11, 1);
    write_images(DATA "/train-images-idx3-ubyte", 400, &r);
    write_labels(DATA "/train-labels-idx1-ubyte", 400);
    write_images(DATA "/t10k-images-idx3-ubyte", 100, &r);
    write_labels(DATA "/t10k-labels-idx1-ubyte", 100);
    return 0;
}

/* run a shell command, its output into log; returns its exit status */
static int run(const char *cmd, const char *log)
{
    char full[1400];
    int st;

    snprintf(full, sizeof(full), "%s > %s 2>&1", cmd, log);
    st = system(full);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int file_mentions(const char *path, const char *text)
{
    char buf[16384];
    FILE *f = fopen(path, "r");
    size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;

    if (f)
        fclose(f);
    buf[n] = '\0';
    if (!strstr(buf, text))
        fprintf(stderr, "%s does not mention '%s':\n%s\n", path, text, buf);
    return strstr(buf, text) != NULL;
}

/* train with np ranks into out; returns the weights file path */
static void train_with(int np, const char *out, const char *extra)
{
    char cmd[1024], log[256];

    snprintf(cmd, sizeof(cmd), MPIRUN "-np %d " PROG
             "--set output.dir=%s %s configs/tiny.ini", np, out, extra);
    snprintf(log, sizeof(log), "%s.log", out);
    assert_int_equal(run(cmd, log), 0);
}

static void assert_same_weights(const char *a, const char *b)
{
    char pa[256], pb[256], err[512];
    double **A, **B;
    int la, lb, na, nb;

    snprintf(pa, sizeof(pa), "%s/weights.h5", a);
    snprintf(pb, sizeof(pb), "%s/weights.h5", b);
    assert_int_equal(out_read_weights(pa, &la, &na, &A, err, sizeof(err)),
                     0);
    assert_int_equal(out_read_weights(pb, &lb, &nb, &B, err, sizeof(err)),
                     0);
    assert_int_equal(la, lb);
    assert_int_equal(na, nb);
    for (int j = 0; j < la; j++) {
        /* bitwise: the same arithmetic in the same order on any layout */
        assert_memory_equal(A[j], B[j], (size_t)na * na * sizeof(double));
        free(A[j]);
        free(B[j]);
    }
    free(A);
    free(B);
}

static void assert_weights_differ(const char *a, const char *b)
{
    char pa[256], pb[256], err[512];
    double **A, **B;
    int l, n, differ = 0;

    snprintf(pa, sizeof(pa), "%s/weights.h5", a);
    snprintf(pb, sizeof(pb), "%s/weights.h5", b);
    assert_int_equal(out_read_weights(pa, &l, &n, &A, err, sizeof(err)), 0);
    assert_int_equal(out_read_weights(pb, &l, &n, &B, err, sizeof(err)), 0);
    for (int j = 0; j < l; j++) {
        differ |= memcmp(A[j], B[j], (size_t)n * n * sizeof(double)) != 0;
        free(A[j]);
        free(B[j]);
    }
    free(A);
    free(B);
    assert_true(differ);
}

static void sync_weights_same_on_1_and_3_ranks(void **state)
{
    (void)state;
    train_with(1, TMP "/sync1", "");
    train_with(3, TMP "/sync3", "");
    assert_same_weights(TMP "/sync1", TMP "/sync3");
}

static void async_weights_same_on_1_and_3_ranks(void **state)
{
    (void)state;
    train_with(1, TMP "/async1", "--set train.mode=async");
    train_with(3, TMP "/async3", "--set train.mode=async");
    assert_same_weights(TMP "/async1", TMP "/async3");
    /* and the schedule mattered: async is not the sync run */
    assert_weights_differ(TMP "/async1", TMP "/sync1");
}

static void goal_before_last_node_same_on_1_and_3_ranks(void **state)
{
    (void)state;
    train_with(1, TMP "/g2r1", "--set network.goal_node=2");
    train_with(3, TMP "/g2r3", "--set network.goal_node=2");
    assert_same_weights(TMP "/g2r1", TMP "/g2r3");
}

static double summary_test_accuracy(const char *path)
{
    char buf[16384];
    FILE *f = fopen(path, "r");
    size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
    cJSON *j, *acc;
    double v = -1.0;

    if (f)
        fclose(f);
    buf[n] = '\0';
    j = cJSON_Parse(buf);
    acc = cJSON_GetObjectItemCaseSensitive(j, "test_accuracy");
    if (cJSON_IsNumber(acc))
        v = acc->valuedouble;
    cJSON_Delete(j);
    return v;
}

static void untied_diffuse_same_on_1_and_3_ranks(void **state)
{
    const char *opt = "--set train.backward=untied --set network.goal_node=2 "
                      "--set train.nogoal=diffuse";

    (void)state;
    train_with(1, TMP "/untied1", opt);
    train_with(3, TMP "/untied3", opt);
    assert_same_weights(TMP "/untied1", TMP "/untied3");
}

static void penalised_literal_k_proximal_same_on_1_and_3_ranks(void **state)
{
    const char *opt = "--set train.goal_solver=penalised "
                      "--set train.nogoal=literal --set train.solver=K "
                      "--set train.step=proximal --set network.goal_node=2";

    (void)state;
    train_with(1, TMP "/penal1", opt);
    train_with(3, TMP "/penal3", opt);
    assert_same_weights(TMP "/penal1", TMP "/penal3");
}

static void mixed_precision_same_on_1_and_3_ranks(void **state)
{
    (void)state;
    train_with(1, TMP "/mixed1", "--set train.precision=mixed");
    train_with(3, TMP "/mixed3", "--set train.precision=mixed");
    assert_same_weights(TMP "/mixed1", TMP "/mixed3");
    assert_weights_differ(TMP "/mixed1", TMP "/sync1");
}

static void async_with_probability_one_is_sync(void **state)
{
    (void)state;
    train_with(1, TMP "/asyncp1", "--set train.mode=async "
               "--set train.async_p=1");
    assert_same_weights(TMP "/asyncp1", TMP "/sync1");
}

static void async_twice_with_one_seed_is_identical(void **state)
{
    (void)state;
    train_with(1, TMP "/async1b", "--set train.mode=async");
    assert_same_weights(TMP "/async1", TMP "/async1b");
}

/* goal_error of the first and the last row of <dir>/log.csv */
static void goal_error_first_last(const char *dir, double *first,
                                  double *last)
{
    char path[256], line[8192];
    FILE *f;
    int row = 0;

    snprintf(path, sizeof(path), "%s/log.csv", dir);
    f = fopen(path, "r");
    assert_non_null(f);
    while (fgets(line, sizeof(line), f)) {
        double g;

        if (row++ == 0 || sscanf(line, "%*d,%*f,%lf", &g) != 1)
            continue;
        if (row == 2)
            *first = g;
        *last = g;
    }
    fclose(f);
}

static void training_lowers_the_goal_error(const char *name,
                                           const char *opt)
{
    char out[128], extra[512];
    double first = -1.0, last = -1.0;

    snprintf(out, sizeof(out), TMP "/ge_%s", name);
    /* the paper's N(0,1) initial weights: with N(0,1)/sqrt(n) the literal
     * reading (E = U before the goal) does not lower the goal error on
     * this problem (0.519 -> 0.539 in 8 iterations), as its sign-flipped
     * targets predict (docs/algorithm.md, section 2) */
    snprintf(extra, sizeof(extra), "--set train.iterations=8 "
             "--set network.goal_node=2 --set network.init=normal %s", opt);
    train_with(1, out, extra);
    goal_error_first_last(out, &first, &last);
    if (!(last < first))
        fprintf(stderr, "%s: goal error %g -> %g\n", name, first, last);
    assert_true(first > 0.0 && last < first);
}

static void every_goal_reading_and_solver_lowers_goal_error(void **state)
{
    const char *runs[][2] = {
        { "zero", "--set train.nogoal=zero" },
        { "literal", "--set train.nogoal=literal" },
        { "diffuse", "--set train.nogoal=diffuse" },
        { "penalised", "--set train.goal_solver=penalised" },
        { "R", "--set train.solver=R" },
        { "K", "--set train.solver=K" },
        { "best", "--set train.solver=best" },
        { "untied", "--set train.backward=untied" },
        { "proximal", "--set train.step=proximal" },
    };

    (void)state;
    for (size_t i = 0; i < sizeof(runs) / sizeof(runs[0]); i++)
        training_lowers_the_goal_error(runs[i][0], runs[i][1]);
}

static void summary_reports_the_printed_accuracy(void **state)
{
    char line[256];
    double printed = -1.0, stored;
    FILE *f = fopen(TMP "/sync3.log", "r");

    (void)state;
    assert_non_null(f);
    while (fgets(line, sizeof(line), f))
        sscanf(line, "test accuracy %lf%%", &printed);
    fclose(f);
    stored = summary_test_accuracy(TMP "/sync3/summary.json");

    /* printed with two decimals: equal to within half a unit of the last */
    assert_true(fabs(100.0 * stored - printed) <= 0.005 + 1e-9);
    /* ten learnable classes: far above chance (10%) */
    assert_true(printed > 50.0);
}

static void unknown_key_fails_naming_the_key(void **state)
{
    const char *log = TMP "/badkey.log";

    (void)state;
    assert_int_not_equal(run(MPIRUN "-np 3 " PROG "--set train.itrations=3 "
                             "configs/tiny.ini", log), 0);
    assert_true(file_mentions(log, "itrations"));
}

static void rank_count_misfit_fails_saying_which_counts_work(void **state)
{
    const char *log = TMP "/np2.log";

    (void)state;
    assert_int_not_equal(run(MPIRUN "-np 2 " PROG "configs/tiny.ini", log),
                         0);
    assert_true(file_mentions(log, "-np 3"));
    assert_true(file_mentions(log, "-np 1"));
}

static void corrupt_data_fails_naming_the_file(void **state)
{
    const char *log = TMP "/corrupt.log";
    FILE *f;

    (void)state;
    system("mkdir -p " TMP "/bad && cp " DATA "/* " TMP "/bad/");
    f = fopen(TMP "/bad/train-images-idx3-ubyte", "r+b");
    assert_non_null(f);
    fseek(f, 0, SEEK_SET);
    fputc(0x42, f);                 /* break the magic number */
    fclose(f);
    assert_int_not_equal(run(MPIRUN "-np 3 bin/nlpc_mpi --set data.dir="
                             TMP "/bad configs/tiny.ini", log), 0);
    assert_true(file_mentions(log, "train-images-idx3-ubyte"));
}

int main(void)
{
    /* what `make check` exports, so that the program also runs alone:
     * root in CI, 3 ranks on 2 cores, one BLAS thread per rank */
    setenv("OMPI_ALLOW_RUN_AS_ROOT", "1", 0);
    setenv("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1", 0);
    setenv("OMPI_MCA_rmaps_base_oversubscribe", "1", 0);
    setenv("OMPI_MCA_mpi_yield_when_idle", "1", 0);
    setenv("OPENBLAS_NUM_THREADS", "1", 0);

    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sync_weights_same_on_1_and_3_ranks),
        cmocka_unit_test(async_weights_same_on_1_and_3_ranks),
        cmocka_unit_test(goal_before_last_node_same_on_1_and_3_ranks),
        cmocka_unit_test(untied_diffuse_same_on_1_and_3_ranks),
        cmocka_unit_test(penalised_literal_k_proximal_same_on_1_and_3_ranks),
        cmocka_unit_test(mixed_precision_same_on_1_and_3_ranks),
        cmocka_unit_test(async_with_probability_one_is_sync),
        cmocka_unit_test(async_twice_with_one_seed_is_identical),
        cmocka_unit_test(every_goal_reading_and_solver_lowers_goal_error),
        cmocka_unit_test(summary_reports_the_printed_accuracy),
        cmocka_unit_test(unknown_key_fails_naming_the_key),
        cmocka_unit_test(rank_count_misfit_fails_saying_which_counts_work),
        cmocka_unit_test(corrupt_data_fails_naming_the_file),
    };

    return cmocka_run_group_tests(tests, setup_data, NULL);
}
