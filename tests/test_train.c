/*
 * test_train.c - the whole program under mpirun: the same configuration
 * and seed give bitwise identical weights on 1 rank and on L ranks, and
 * bad input (unknown key, corrupt data, a rank count that does not fit)
 * ends every rank with a message and a non-zero status; the phase timers
 * of log.csv fit inside each rank's iteration.
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

#include "config.h"
#include "harness.h"
#include "train.h"


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

static double summary_number(const char *path, const char *key)
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
    acc = cJSON_GetObjectItemCaseSensitive(j, key);
    if (cJSON_IsNumber(acc))
        v = acc->valuedouble;
    cJSON_Delete(j);
    return v;
}

static double summary_test_accuracy(const char *path)
{
    return summary_number(path, "test_accuracy");
}

/* the val_acc column of log.csv at iteration it, NAN when empty */
static double logged_val_acc(const char *dir, int it)
{
    char path[256], line[65536];
    double v = NAN;
    FILE *f;

    snprintf(path, sizeof(path), "%s/log.csv", dir);
    f = fopen(path, "r");
    assert_non_null(f);
    assert_non_null(fgets(line, sizeof(line), f));
    assert_non_null(strstr(line, "updated,val_acc,"));
    while (fgets(line, sizeof(line), f)) {
        char *p = line;

        if (atoi(p) != it)
            continue;
        for (int comma = 0; comma < 4 && p; comma++)
            p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL;
        assert_non_null(p);
        if (*p != ',')
            v = strtod(p, NULL);
    }
    fclose(f);
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

/* blocks of nodes per rank: 6 nodes on 2 ranks (3 + 3) and on 4 ranks
 * (2 + 1 + 2 + 1), goal inside a block, both schedules */
static void blocks_of_nodes_same_as_one_process(void **state)
{
    const char *sync = "--set network.nodes=6 --set network.goal_node=3",
               *async = "--set network.nodes=6 --set network.goal_node=3 "
                        "--set train.mode=async";

    (void)state;
    train_with(1, TMP "/blk_s1", sync);
    train_with(2, TMP "/blk_s2", sync);
    train_with(4, TMP "/blk_s4", sync);
    assert_same_weights(TMP "/blk_s1", TMP "/blk_s2");
    assert_same_weights(TMP "/blk_s1", TMP "/blk_s4");
    train_with(1, TMP "/blk_a1", async);
    train_with(4, TMP "/blk_a4", async);
    assert_same_weights(TMP "/blk_a1", TMP "/blk_a4");
}

/* the default network's shape (6 nodes, goal at the last): nodes 1-4
 * are updated while the goal travels, nodes 5-6 prepare; with a forward
 * pipeline of 3 blocks of unequal width (the tiny batch is not a
 * multiple of 3) on 1, 2 and 6 ranks, sync and async */
static void early_updates_and_pipeline_same_on_1_2_6_ranks(void **state)
{
    const char *sync = "--set network.nodes=6 --set train.microbatches=3",
               *async = "--set network.nodes=6 --set train.microbatches=3 "
                        "--set train.mode=async";

    (void)state;
    train_with(1, TMP "/pipe_s1", sync);
    train_with(2, TMP "/pipe_s2", sync);
    train_with(6, TMP "/pipe_s6", sync);
    assert_same_weights(TMP "/pipe_s1", TMP "/pipe_s2");
    assert_same_weights(TMP "/pipe_s1", TMP "/pipe_s6");
    train_with(1, TMP "/pipe_a1", async);
    train_with(6, TMP "/pipe_a6", async);
    assert_same_weights(TMP "/pipe_a1", TMP "/pipe_a6");
}

/* the validation monitor reads the network without changing it: the same
 * weights and test accuracy as a run without it; with every training
 * image (monitor_train = 0) its value after the last iteration is the
 * final validation accuracy, which the end of the run computes again */
static void validation_monitor_changes_nothing_and_agrees(void **state)
{
    double logged, final;

    (void)state;
    train_with(3, TMP "/mon3", "--set eval.monitor_every=2 "
               "--set eval.monitor_train=0 --set train.iterations=4");
    train_with(3, TMP "/nomon3", "--set train.iterations=4");
    assert_same_weights(TMP "/mon3", TMP "/nomon3");
    assert_true(summary_test_accuracy(TMP "/mon3/summary.json")
                == summary_test_accuracy(TMP "/nomon3/summary.json"));
    assert_true(isnan(logged_val_acc(TMP "/mon3", 1)));
    assert_false(isnan(logged_val_acc(TMP "/mon3", 2)));
    logged = logged_val_acc(TMP "/mon3", 4);
    final = summary_number(TMP "/mon3/summary.json", "validation_accuracy");
    assert_true(final >= 0.0);
    assert_true(fabs(logged - final) < 1e-6);
}

/* rho_decay: the step of iteration t is rho / (1 + t / h), so it halves
 * at t = h and is a third at t = 2 h; 0 keeps rho */
static void rho_decay_follows_its_formula(void **state)
{
    NlpcConfig c;

    (void)state;
    memset(&c, 0, sizeof(c));
    c.rho = 0.2;
    assert_true(train_rho(&c, 0) == 0.2);
    assert_true(train_rho(&c, 50) == 0.2);
    c.rho_decay = 10;
    assert_true(train_rho(&c, 0) == 0.2);
    assert_true(fabs(train_rho(&c, 10) - 0.1) < 1e-15);
    assert_true(fabs(train_rho(&c, 20) - 0.2 / 3) < 1e-15);
}

/* the decay counts the run's iterations, not the process's: 4 iterations,
 * then 4 more resumed from the checkpoint on another rank count, end
 * where 8 uninterrupted ones do; and the option changes the weights */
static void rho_decay_continues_across_a_resume(void **state)
{
    const char *d = "--set train.rho_decay=2 --set checkpoint.every=4 ";
    char opt[256];

    (void)state;
    snprintf(opt, sizeof(opt), "%s--set train.iterations=8", d);
    train_with(3, TMP "/decay8", opt);
    snprintf(opt, sizeof(opt), "%s--set train.iterations=4", d);
    train_with(1, TMP "/decay4", opt);
    snprintf(opt, sizeof(opt), "%s--set train.iterations=8", d);
    train_with(1, TMP "/decay4", opt);
    assert_same_weights(TMP "/decay8", TMP "/decay4");
    assert_true(file_mentions(TMP "/decay4.log",
                              "resumed from the checkpoint after iteration 4"));
    train_with(1, TMP "/nodecay8", "--set train.iterations=8");
    assert_weights_differ(TMP "/decay8", TMP "/nodecay8");
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

/* ---- phase timers in log.csv ------------------------------------------ */

#define LOG_COLS 512

/* the header of <dir>/log.csv into names[] and its data rows, one after
 * another, into v[] (empty fields as NAN); returns the row count */
static int read_log(const char *dir, char names[][24], int *ncols,
                    double *v, int max_rows)
{
    char path[256];
    long len;
    char *text, *line, *save = NULL;
    int rows = -1;

    snprintf(path, sizeof(path), "%s/log.csv", dir);
    text = (char *)harness_slurp(path, &len);
    for (line = strtok_r(text, "\n", &save); line && rows < max_rows;
         line = strtok_r(NULL, "\n", &save), rows++) {
        int c = 0;

        for (char *p = line; c < LOG_COLS; c++) {
            char *end = strchr(p, ',');

            if (end)
                *end = '\0';
            if (rows < 0)
                snprintf(names[c], 24, "%s", p);
            else
                v[rows * LOG_COLS + c] = *p ? strtod(p, NULL) : NAN;
            if (!end)
                break;
            p = end + 1;
        }
        if (rows < 0)
            *ncols = c + 1;
    }
    free(text);
    return rows;
}

/* column index of "<name>_<node>" */
static int log_col(char names[][24], int ncols, const char *name, int node)
{
    char want[24];

    snprintf(want, sizeof(want), "%s_%d", name, node);
    for (int c = 0; c < ncols; c++)
        if (!strcmp(names[c], want))
            return c;
    fail_msg("log.csv has no column %s", want);
    return -1;
}

/* The phases of each node are disjoint stretches of its rank's step, so
 * per rank they sum to at most that rank's own step, its wait_l + busy_l
 * (measured apart from the phases, from the step's start to the stats;
 * 1e-5 s of slack for the 9 printed digits and the clamp at 0 of each
 * phase). With one rank the step is also inside the iteration's seconds,
 * measured by the loop around it. A node that was not updated (empty J)
 * spends nothing in the update phases; one that was spends time in the
 * eigendecomposition and SVDs. */
static void check_phase_times(const char *dir, int ranks)
{
    static const char *phase[] = { "t_fwd", "t_goal", "t_err", "t_halo",
        "t_csnt", "t_gram", "t_eig", "t_svd", "t_scalar", "t_cand", "t_bwd",
        "t_terms", "t_wait" };
    static const char *update[] = { "t_gram", "t_eig", "t_svd", "t_scalar",
        "t_cand" };
    static char names[LOG_COLS][24];
    static double v[16 * LOG_COLS];
    int ncols = 0, rows = read_log(dir, names, &ncols, v, 16), nodes = 3;

    assert_true(rows >= 1);
    for (int r = 0; r < rows; r++) {
        double *row = v + r * LOG_COLS, rank_sum[3] = { 0 };
        double rank_step[3] = { 0 };

        for (int l = 1; l <= nodes; l++) {
            int upd = !isnan(row[log_col(names, ncols, "J", l)]);

            for (size_t i = 0; i < sizeof(phase) / sizeof(*phase); i++) {
                double t = row[log_col(names, ncols, phase[i], l)];

                assert_true(isfinite(t) && t >= 0.0);
                rank_sum[(l - 1) * ranks / nodes] += t;
            }
            rank_step[(l - 1) * ranks / nodes] =
                row[log_col(names, ncols, "wait", l)]
                + row[log_col(names, ncols, "busy", l)];
            for (size_t i = 0; i < sizeof(update) / sizeof(*update); i++)
                if (!upd)
                    assert_true(row[log_col(names, ncols, update[i], l)]
                                == 0.0);
            if (upd) {
                assert_true(row[log_col(names, ncols, "t_eig", l)] > 0.0);
                assert_true(row[log_col(names, ncols, "t_svd", l)] > 0.0);
            }
        }
        for (int k = 0; k < ranks; k++) {
            if (!(rank_sum[k] <= rank_step[k] + 1e-5))
                fprintf(stderr, "%s row %d rank %d: phases %g s, "
                        "step %g s\n", dir, r + 1, k, rank_sum[k],
                        rank_step[k]);
            assert_true(rank_sum[k] <= rank_step[k] + 1e-5);
        }
        if (ranks == 1)
            assert_true(rank_sum[0] <= row[1] + 1e-5);
    }
}

static void phase_times_fit_in_each_ranks_iteration(void **state)
{
    (void)state;
    check_phase_times(TMP "/sync1", 1);
    check_phase_times(TMP "/sync3", 3);
    check_phase_times(TMP "/async3", 3);
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
    const char *log = TMP "/np4.log";

    (void)state;
    assert_int_not_equal(run(MPIRUN "-np 4 " PROG "configs/tiny.ini", log),
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
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sync_weights_same_on_1_and_3_ranks),
        cmocka_unit_test(async_weights_same_on_1_and_3_ranks),
        cmocka_unit_test(goal_before_last_node_same_on_1_and_3_ranks),
        cmocka_unit_test(untied_diffuse_same_on_1_and_3_ranks),
        cmocka_unit_test(penalised_literal_k_proximal_same_on_1_and_3_ranks),
        cmocka_unit_test(blocks_of_nodes_same_as_one_process),
        cmocka_unit_test(early_updates_and_pipeline_same_on_1_2_6_ranks),
        cmocka_unit_test(validation_monitor_changes_nothing_and_agrees),
        cmocka_unit_test(rho_decay_follows_its_formula),
        cmocka_unit_test(rho_decay_continues_across_a_resume),
        cmocka_unit_test(mixed_precision_same_on_1_and_3_ranks),
        cmocka_unit_test(async_with_probability_one_is_sync),
        cmocka_unit_test(async_twice_with_one_seed_is_identical),
        cmocka_unit_test(every_goal_reading_and_solver_lowers_goal_error),
        cmocka_unit_test(summary_reports_the_printed_accuracy),
        cmocka_unit_test(phase_times_fit_in_each_ranks_iteration),
        cmocka_unit_test(unknown_key_fails_naming_the_key),
        cmocka_unit_test(rank_count_misfit_fails_saying_which_counts_work),
        cmocka_unit_test(corrupt_data_fails_naming_the_file),
    };

    return cmocka_run_group_tests(tests, harness_setup, NULL);
}
