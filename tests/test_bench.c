/*
 * test_bench.c - make bench's driver keeps working: bench/bench.py in
 * quick mode (tiny synthetic sizes, seconds) writes bench.csv with every
 * case and metric the full run reports, each a finite, non-negative
 * number, positive where a zero would mean nothing was measured. No
 * timing is asserted: the machine is shared.
 *
 * Run from the repository root after `make tests` (needs bin/nlpc_mpi,
 * bin/peak, bin/msgtime and python3).
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

#include "harness.h"

#define OUT "tests/tmp/bench"
#define MAX_ROWS 4096

/* one row of bench.csv: case,metric,node,value,unit,note */
typedef struct {
    char c[32], metric[48], node[8], value[32], note[160];
} Row;

static Row rows[MAX_ROWS];
static int nrows;

/* split one line into the fields of r (the driver writes no quotes and
 * no commas inside fields) */
static void parse_row(char *line, Row *r)
{
    char *f[6] = { 0 };
    int n = 0;

    for (char *p = line; n < 6; n++) {
        char *end = strchr(p, ',');

        f[n] = p;
        if (!end)
            break;
        *end = '\0';
        p = end + 1;
    }
    assert_true(n >= 4);
    snprintf(r->c, sizeof(r->c), "%s", f[0]);
    snprintf(r->metric, sizeof(r->metric), "%s", f[1]);
    snprintf(r->node, sizeof(r->node), "%s", f[2]);
    snprintf(r->value, sizeof(r->value), "%s", f[3]);
    snprintf(r->note, sizeof(r->note), "%s", n >= 5 && f[5] ? f[5] : "");
}

static int setup(void **state)
{
    long len;
    char *text, *line, *save = NULL;

    (void)state;
    harness_env();
    if (system("rm -rf " OUT " && mkdir -p tests/tmp") != 0)
        return -1;
    if (run("BENCH_QUICK=1 BENCH_OUT=" OUT " python3 bench/bench.py",
            OUT ".log") != 0) {
        fprintf(stderr, "bench/bench.py failed; see " OUT ".log\n");
        return -1;
    }
    text = (char *)harness_slurp(OUT "/bench.csv", &len);
    line = strtok_r(text, "\n", &save);     /* the header */
    if (!line || strcmp(line, "case,metric,node,value,unit,note") != 0)
        return -1;
    while ((line = strtok_r(NULL, "\n", &save)) && nrows < MAX_ROWS)
        parse_row(line, &rows[nrows++]);
    free(text);
    return 0;
}

/* the total (node empty) of case c, metric m; NAN when absent or empty */
static double value(const char *c, const char *m, const char *node)
{
    for (int i = 0; i < nrows; i++)
        if (!strcmp(rows[i].c, c) && !strcmp(rows[i].metric, m)
            && !strcmp(rows[i].node, node))
            return rows[i].value[0] ? strtod(rows[i].value, NULL) : NAN;
    fprintf(stderr, "bench.csv has no row %s,%s,%s\n", c, m, node);
    return NAN;
}

static void assert_positive(const char *c, const char *m)
{
    double v = value(c, m, "");

    if (!(isfinite(v) && v > 0.0))
        fprintf(stderr, "%s,%s = %g, expected a positive number\n", c, m, v);
    assert_true(isfinite(v) && v > 0.0);
}

static void every_value_is_finite_and_not_negative(void **state)
{
    (void)state;
    assert_true(nrows > 100);
    for (int i = 0; i < nrows; i++) {
        char *end;
        double v;

        if (!rows[i].value[0]) {
            /* only a case that did not run may be empty, and it says why */
            assert_string_equal(rows[i].c, "torch");
            assert_non_null(strstr(rows[i].note, "not run"));
            continue;
        }
        v = strtod(rows[i].value, &end);
        assert_true(*end == '\0' && isfinite(v) && v >= 0.0);
    }
}

static void machine_peak_and_message_are_measured(void **state)
{
    (void)state;
    assert_positive("peak", "dgemm_1core");
    assert_positive("peak", "sgemm_1core");
    assert_positive("msg", "seconds");
    assert_positive("msg", "bandwidth");
    assert_positive("machine", "cores");
    assert_false(isnan(value("machine", "load1_start", "")));
    assert_false(isnan(value("machine", "load1_end", "")));
}

/* every layout and mode, and the same invocation's baselines: rates, and
 * the phases every node goes through */
static void scaling_cases_report_every_phase_of_every_node(void **state)
{
    static const char *cases[] = { "sync_1r", "sync_2r", "sync_6r",
                                   "async_1r", "async_2r", "async_6r",
                                   "sync_2r_mb1", "sync_1r_K",
                                   "sync_2r_K" };
    static const char *phases[] = { "t_fwd", "t_goal", "t_err", "t_halo",
        "t_csnt", "t_gram", "t_eig", "t_svd", "t_scalar", "t_cand", "t_bwd",
        "t_terms", "t_wait" };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
        assert_positive(cases[i], "s_per_iter");
        assert_positive(cases[i], "gflops");
        assert_positive(cases[i], "peak_ratio");
        assert_positive(cases[i], "peak_now");
        assert_positive(cases[i], "t_fwd");
        assert_positive(cases[i], "t_eig");
        assert_positive(cases[i], "t_svd");
        assert_positive(cases[i], "gflops_gram");
        for (size_t p = 0; p < sizeof(phases) / sizeof(*phases); p++)
            for (int l = 1; l <= 6; l++) {
                char node[8];

                snprintf(node, sizeof(node), "%d", l);
                assert_false(isnan(value(cases[i], phases[p], node)));
            }
    }
}

static void speedups_model_and_projection_are_there(void **state)
{
    (void)state;
    assert_positive("speedup", "sync_2r");
    assert_positive("speedup", "sync_6r");
    assert_positive("speedup", "async_2r");
    assert_positive("speedup", "async_6r");
    assert_positive("speedup", "pipeline");
    assert_positive("speedup", "solver_K_1r");
    assert_positive("speedup", "solver_K_2r");
    assert_positive("model", "sync_1r");
    assert_positive("model", "sync_2r");
    assert_positive("model", "sync_2r_own_phases");
    assert_positive("model", "sync_6machines_shm");
    assert_positive("model", "sync_6machines_10Gbps");
    assert_positive("projection", "seconds_120_iterations");
    /* the paper's figure: 3.5 hours */
    assert_true(value("projection", "paper_seconds", "") == 3.5 * 3600);
    assert_positive("torch", "nlpc_seconds_to_accuracy");
}

/* four batch sizes and three widths, each with its iteration time */
static void batch_and_width_growth_cases_ran(void **state)
{
    int batch = 0, width = 0;

    (void)state;
    for (int i = 0; i < nrows; i++) {
        if (strcmp(rows[i].metric, "s_per_iter"))
            continue;
        batch += !strncmp(rows[i].c, "batch_", 6);
        width += !strncmp(rows[i].c, "width_", 6);
        if (!strncmp(rows[i].c, "batch_", 6)
            || !strncmp(rows[i].c, "width_", 6))
            assert_positive(rows[i].c, "s_per_iter");
    }
    assert_int_equal(batch, 4);
    assert_int_equal(width, 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_value_is_finite_and_not_negative),
        cmocka_unit_test(machine_peak_and_message_are_measured),
        cmocka_unit_test(scaling_cases_report_every_phase_of_every_node),
        cmocka_unit_test(speedups_model_and_projection_are_there),
        cmocka_unit_test(batch_and_width_growth_cases_ran),
    };

    return cmocka_run_group_tests(tests, setup, NULL);
}
