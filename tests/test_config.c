/*
 * test_config.c - tests of the option table: defaults, INI loading with
 * file:line errors, --set, the INI round trip and the cross-key checks.
 *
 * Not tested here: anything that needs data or MPI. Run from the repo
 * root; temporary files go to tests/tmp/.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "config.h"

#define TMP_DIR "tests/tmp"
#define SHIPPED "configs/mnist_sync_6n_g6.ini"

/* ---- helpers ---------------------------------------------------------- */

/* Write text to tests/tmp/name and return the path (static buffer). */
static const char *write_tmp(const char *name, const char *text)
{
    static char path[256];
    FILE *f;

    assert_true(mkdir(TMP_DIR, 0777) == 0 || errno == EEXIST);
    snprintf(path, sizeof path, TMP_DIR "/%s", name);
    f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fputs(text, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
    return path;
}

static void assert_contains(const char *text, const char *part)
{
    if (!strstr(text, part))
        fail_msg("expected \"%s\" in \"%s\"", part, text);
}

/* Load text from a temp file over the defaults; expect failure and
 * return the message. */
static const char *load_fails(const char *name, const char *text)
{
    static char err[CFG_ERR_MAX];
    NlpcConfig c;

    cfg_defaults(&c);
    err[0] = '\0';
    assert_int_equal(cfg_load(&c, write_tmp(name, text), err, sizeof err),
                     -1);
    assert_true(err[0] != '\0');
    return err;
}

/* ---- defaults ---------------------------------------------------------- */

static void test_defaults_match_table_and_finalize_sets_goal_to_last(
    void **state)
{
    char err[CFG_ERR_MAX];
    NlpcConfig c;

    (void)state;
    cfg_defaults(&c);
    assert_string_equal(c.data_set, "mnist");
    assert_string_equal(c.data_dir, "data");
    assert_int_equal(c.train_limit, 0);
    assert_int_equal(c.test_limit, 0);
    assert_int_equal(c.validation, 5000);
    assert_int_equal(c.standardise, 1);
    assert_int_equal(c.nodes, 6);
    assert_int_equal(c.width, 784);
    assert_int_equal(c.goal_node, 0);
    assert_int_equal(c.init, CFG_INIT_SCALED);
    assert_int_equal(c.mode, CFG_MODE_SYNC);
    assert_int_equal(c.iterations, 20);
    assert_true(c.batch_fraction == 0.15);
    assert_int_equal(c.seed, 1);
    assert_true(c.rho == 0.2);
    assert_true(c.lf == 1.0 && c.lb == 1.0);
    assert_true(c.l2 == 34.0 && c.l3 == 34.0 && c.l4 == 34.0);
    assert_int_equal(c.scale, CFG_SCALE_MEAN);
    assert_true(c.async_p == 0.5);
    assert_true(c.svm_c == 1.0 && c.svm_eps == 0.01);
    assert_int_equal(c.feature_scale, CFG_FEAT_RMS);
    assert_int_equal(c.eval_chunk, 5000);
    assert_string_equal(c.out_dir, "runs/latest");

    assert_int_equal(cfg_finalize(&c, err, sizeof err), 0);
    assert_int_equal(c.goal_node, 6);
}

/* ---- shipped configs --------------------------------------------------- */

/* Every section.key the trainer knows, listed independently of the table. */
static const char *const all_keys[] = {
    "data.set", "data.dir", "data.train_limit", "data.test_limit",
    "data.validation", "data.standardise", "network.nodes", "network.width",
    "network.goal_node", "network.init", "network.threshold",
    "network.sparsity", "network.tau", "train.mode", "train.iterations",
    "train.batch_fraction", "train.seed", "train.rho", "train.lf",
    "train.lb", "train.l2", "train.l3", "train.l4", "train.scale",
    "train.async_p", "train.solver", "train.step", "train.target",
    "train.backward",
    "train.l5", "train.nogoal", "train.propagate", "train.goal_solver",
    "train.goal_l0", "train.goal_l1", "train.goal_sweeps",
    "train.precision", "eval.svm_c",
    "eval.svm_eps", "eval.svm_solver", "eval.feature_scale",
    "eval.eval_chunk", "eval.monitor_every", "eval.monitor_train",
    "output.dir", "output.log_terms", "checkpoint.dir",
    "checkpoint.every", "checkpoint.keep", "checkpoint.resume",
};
#define N_KEYS (sizeof all_keys / sizeof all_keys[0])

/* Collect "section.key" of every assignment line in an INI text file. */
static int file_has_key(const char *path, const char *want)
{
    char line[512], section[64] = "", name[64], full[160];
    FILE *f = fopen(path, "r");
    int found = 0;

    assert_non_null(f);
    while (fgets(line, sizeof line, f)) {
        if (sscanf(line, " [%63[^]]]", section) == 1)
            continue;
        if (line[0] == '#' || sscanf(line, " %63[a-z_0-9] =", name) != 1)
            continue;
        snprintf(full, sizeof full, "%s.%s", section, name);
        found |= strcmp(full, want) == 0;
    }
    fclose(f);
    return found;
}

static void test_shipped_default_config_lists_every_key(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_KEYS; i++)
        if (!file_has_key(SHIPPED, all_keys[i]))
            fail_msg("%s does not set %s", SHIPPED, all_keys[i]);
}

/* The shipped file is the table's defaults but for the goal node, the
 * validated N(0,1) initial weights, written out, and its own output
 * directory. */
static void test_shipped_default_config_loads_as_defaults_with_goal_6(
    void **state)
{
    char err[CFG_ERR_MAX] = "";
    NlpcConfig loaded, expect;

    (void)state;
    memset(&loaded, 0, sizeof loaded);
    memset(&expect, 0, sizeof expect);
    cfg_defaults(&loaded);
    loaded.nodes = 1;           /* must be overwritten by the file */
    loaded.l3 = 0.0;
    if (cfg_load(&loaded, SHIPPED, err, sizeof err) != 0)
        fail_msg("%s", err);
    cfg_defaults(&expect);
    expect.goal_node = 6;
    expect.init = CFG_INIT_NORMAL;
    snprintf(expect.out_dir, sizeof expect.out_dir, "%s",
             "runs/mnist_sync_6n_g6");
    assert_memory_equal(&loaded, &expect, sizeof loaded);
    assert_int_equal(cfg_finalize(&loaded, err, sizeof err), 0);
}

/* The twelve networks of the paper's Table 1, configs/<set>_<mode>_<L>n_g<G>
 * .ini: each is the table's defaults but for what its name says (data set,
 * schedule, nodes, goal node), its own output directory and the two
 * choices of docs/results.md: N(0,1) initial weights except where they
 * ran away (the goal at node 3, and Fashion async 6 nodes), and the
 * iteration count its validation checks chose, so that the rows of
 * docs/results.md differ in nothing else. */
static void test_table1_configs_differ_only_in_their_names(void **state)
{
    static const char *sets[] = { "mnist", "fashion" };
    static const char *modes[] = { "sync", "async" };
    static const int shape[][2] = { { 4, 4 }, { 6, 6 }, { 6, 3 } };
    /* in the order of the loop: mnist sync, mnist async, fashion sync,
     * fashion async; 4n_g4, 6n_g6, 6n_g3 in each */
    static const int iterations[12] = { 20, 20, 15, 40, 40, 35,
                                        20, 30, 25, 40, 20, 60 };
    static const int scaled[12] = { 0, 0, 1, 0, 0, 1, 0, 0, 1, 0, 1, 1 };
    char path[128], name[96], err[CFG_ERR_MAX] = "";
    NlpcConfig loaded, expect;

    (void)state;
    for (int i = 0; i < 12; i++) {
        const char *set = sets[i / 6], *mode = modes[(i / 3) % 2];
        int nodes = shape[i % 3][0], goal = shape[i % 3][1];

        snprintf(name, sizeof name, "%s_%s_%dn_g%d", set, mode, nodes, goal);
        snprintf(path, sizeof path, "configs/%s.ini", name);
        memset(&loaded, 0, sizeof loaded);
        memset(&expect, 0, sizeof expect);
        cfg_defaults(&loaded);
        if (cfg_load(&loaded, path, err, sizeof err) != 0)
            fail_msg("%s", err);
        cfg_defaults(&expect);
        snprintf(expect.data_set, sizeof expect.data_set, "%s", set);
        expect.mode = strcmp(mode, "sync") == 0 ? CFG_MODE_SYNC
                                                : CFG_MODE_ASYNC;
        expect.nodes = nodes;
        expect.goal_node = goal;
        if (!scaled[i])
            expect.init = CFG_INIT_NORMAL;
        expect.iterations = iterations[i];
        snprintf(expect.out_dir, sizeof expect.out_dir, "runs/%s", name);
        if (memcmp(&loaded, &expect, sizeof loaded) != 0)
            fail_msg("%s sets more than its name says", path);
        assert_int_equal(cfg_finalize(&loaded, err, sizeof err), 0);
    }
}

static void test_tiny_config_loads_and_finalizes(void **state)
{
    char err[CFG_ERR_MAX] = "";
    NlpcConfig c;

    (void)state;
    cfg_defaults(&c);
    if (cfg_load(&c, "configs/tiny.ini", err, sizeof err) != 0)
        fail_msg("%s", err);
    assert_int_equal(cfg_finalize(&c, err, sizeof err), 0);
    assert_string_equal(c.data_set, "custom");
    assert_string_equal(c.data_dir, "tests/tmp/data");
    assert_int_equal(c.nodes, 3);
    assert_int_equal(c.width, 32);
    assert_int_equal(c.goal_node, 3);
    assert_int_equal(c.iterations, 5);
    assert_int_equal(c.validation, 50);
    assert_true(c.batch_fraction == 0.5);
    assert_int_equal(c.eval_chunk, 100);
    assert_string_equal(c.out_dir, "tests/tmp/run");
}

/* ---- file errors ------------------------------------------------------- */

static void test_unknown_key_names_key_line_and_suggestion(void **state)
{
    const char *err;

    (void)state;
    err = load_fails("unknown_key.ini",
                     "# line 1\n"
                     "[train]\n"
                     "iterations = 3\n"
                     "\n"
                     "itrations = 4\n"
                     "rho = 0.5\n");
    assert_contains(err, TMP_DIR "/unknown_key.ini:5:");
    assert_contains(err, "'itrations'");
    assert_contains(err, "[train]");
    assert_contains(err, "did you mean 'iterations'");
    assert_contains(err, "--help");
}

static void test_unknown_key_after_syntax_error_reports_first_line(
    void **state)
{
    const char *err;

    (void)state;
    err = load_fails("syntax.ini", "[train]\nthis line has no equals\n"
                     "bogus = 1\n");
    assert_contains(err, "syntax.ini:2:");
    assert_contains(err, "key = value");
}

static void test_unknown_section_is_named_with_valid_list(void **state)
{
    const char *err;

    (void)state;
    err = load_fails("unknown_section.ini",
                     "[data]\nset = mnist\n[trian]\niterations = 3\n");
    assert_contains(err, "unknown_section.ini:3:");
    assert_contains(err, "[trian]");
    assert_contains(err, "did you mean [train]");
    assert_contains(err, "[data] [network] [train] [eval] [output]");
}

static void test_empty_unknown_section_is_still_rejected(void **state)
{
    const char *err;

    (void)state;
    err = load_fails("empty_section.ini", "[data]\nset = mnist\n[extra]\n");
    assert_contains(err, "empty_section.ini:3:");
    assert_contains(err, "[extra]");
}

static void test_wrong_type_says_what_is_expected(void **state)
{
    const char *err;

    (void)state;
    err = load_fails("wrong_type.ini", "[train]\niterations = abc\n");
    assert_contains(err, "wrong_type.ini:2:");
    assert_contains(err, "train.iterations expects an integer, got 'abc'");

    err = load_fails("wrong_type2.ini", "[train]\nrho = 0.5x\n");
    assert_contains(err, "train.rho expects a number, got '0.5x'");

    err = load_fails("wrong_type3.ini", "[data]\nstandardise = maybe\n");
    assert_contains(err, "data.standardise expects true or false");
}

static void test_out_of_range_shows_the_range(void **state)
{
    const char *err;

    (void)state;
    err = load_fails("range.ini", "[network]\nnodes = 0\n");
    assert_contains(err, "range.ini:2:");
    assert_contains(err, "network.nodes must be in [1, 64], got 0");

    err = load_fails("range2.ini", "[train]\nbatch_fraction = 0\n");
    assert_contains(err, "train.batch_fraction must be in (0, 1], got 0");

    err = load_fails("range3.ini", "[data]\nvalidation = -1\n");
    assert_contains(err, "data.validation must be >= 0, got -1");
}

static void test_bad_enum_word_lists_allowed_words(void **state)
{
    const char *err;

    (void)state;
    err = load_fails("enum.ini", "[train]\nmode = fast\n");
    assert_contains(err, "enum.ini:2:");
    assert_contains(err, "train.mode must be one of sync, async");
    assert_contains(err, "'fast'");

    err = load_fails("enum2.ini", "[data]\nset = cifar\n");
    assert_contains(err, "mnist, fashion, custom");
}

static void test_duplicate_key_is_an_error_naming_both_lines(void **state)
{
    const char *err;

    (void)state;
    err = load_fails("dup.ini", "[train]\niterations = 3\nrho = 0.1\n"
                     "iterations = 4\n");
    assert_contains(err, "dup.ini:4:");
    assert_contains(err, "duplicate key train.iterations");
    assert_contains(err, "line 2");
}

static void test_failed_load_leaves_config_untouched(void **state)
{
    char err[CFG_ERR_MAX];
    NlpcConfig c, before;

    (void)state;
    cfg_defaults(&c);
    before = c;
    assert_int_equal(cfg_load(&c, write_tmp("partial.ini",
                                            "[train]\niterations = 9\n"
                                            "rho = 2\n"), err, sizeof err),
                     -1);
    assert_memory_equal(&c, &before, sizeof c);
}

static void test_missing_file_is_named(void **state)
{
    char err[CFG_ERR_MAX];
    NlpcConfig c;

    (void)state;
    cfg_defaults(&c);
    assert_int_equal(cfg_load(&c, TMP_DIR "/no_such.ini", err, sizeof err),
                     -1);
    assert_contains(err, "no_such.ini");
}

static void test_too_long_text_is_rejected(void **state)
{
    char err[CFG_ERR_MAX];
    NlpcConfig c;

    (void)state;
    cfg_defaults(&c);
    assert_int_equal(cfg_set(&c, "data.set=mnistmnistmnistmnist", err,
                             sizeof err), -1);
    assert_int_equal(cfg_set(&c, "output.dir=", err, sizeof err), -1);
    assert_contains(err, "output.dir must not be empty");
}

/* ---- --set ------------------------------------------------------------- */

static void test_set_changes_one_value(void **state)
{
    char err[CFG_ERR_MAX] = "";
    NlpcConfig c, expect;

    (void)state;
    cfg_defaults(&c);
    cfg_defaults(&expect);
    if (cfg_set(&c, "train.iterations=7", err, sizeof err) != 0)
        fail_msg("%s", err);
    expect.iterations = 7;
    assert_memory_equal(&c, &expect, sizeof c);

    assert_int_equal(cfg_set(&c, "train.mode=async", err, sizeof err), 0);
    assert_int_equal(c.mode, CFG_MODE_ASYNC);
    assert_int_equal(cfg_set(&c, "data.standardise=off", err, sizeof err),
                     0);
    assert_int_equal(c.standardise, 0);
    assert_int_equal(cfg_set(&c, "train.seed=18446744073709551615", err,
                             sizeof err), 0);
    assert_true(c.seed == 18446744073709551615UL);
}

static void test_set_unknown_key_fails_naming_it(void **state)
{
    char err[CFG_ERR_MAX];
    NlpcConfig c;

    (void)state;
    cfg_defaults(&c);
    assert_int_equal(cfg_set(&c, "train.itrations=7", err, sizeof err), -1);
    assert_contains(err, "--set: unknown key 'itrations' in [train]");
    assert_contains(err, "did you mean 'iterations'");

    assert_int_equal(cfg_set(&c, "train.nodes=7", err, sizeof err), -1);
    assert_contains(err, "'nodes' belongs in [network]");

    assert_int_equal(cfg_set(&c, "trian.iterations=7", err, sizeof err),
                     -1);
    assert_contains(err, "unknown section [trian]");
}

static void test_set_bad_value_fails_naming_key(void **state)
{
    char err[CFG_ERR_MAX];
    NlpcConfig c;

    (void)state;
    cfg_defaults(&c);
    assert_int_equal(cfg_set(&c, "network.nodes=65", err, sizeof err), -1);
    assert_contains(err, "--set: network.nodes must be in [1, 64], got 65");
    assert_int_equal(c.nodes, 6);

    assert_int_equal(cfg_set(&c, "train.seed=-1", err, sizeof err), -1);
    assert_contains(err, "train.seed expects a non-negative integer");
}

static void test_set_malformed_says_expected_form(void **state)
{
    char err[CFG_ERR_MAX];
    NlpcConfig c;

    (void)state;
    cfg_defaults(&c);
    assert_int_equal(cfg_set(&c, "iterations=7", err, sizeof err), -1);
    assert_contains(err, "section.key=value");
    assert_contains(err, "iterations=7");
    assert_int_equal(cfg_set(&c, "train.iterations", err, sizeof err), -1);
    assert_contains(err, "section.key=value");
}

/* ---- round trip and printout ------------------------------------------ */

static void make_non_default(NlpcConfig *c)
{
    static const char *const sets[] = {
        "data.set=fashion", "data.dir=/tmp/some data", "data.train_limit=123",
        "data.test_limit=45", "data.validation=6", "data.standardise=no",
        "network.nodes=9", "network.width=100", "network.goal_node=4",
        "network.init=scaled", "train.mode=async", "train.iterations=11",
        "train.batch_fraction=0.1", "train.seed=4242", "train.rho=0.3",
        "train.lf=0.7", "train.lb=1e-3", "train.l2=1.2345678901234567",
        "train.l3=2.5", "train.l4=3", "train.scale=sum",
        "train.async_p=0.25", "eval.svm_c=10", "eval.svm_eps=0.001",
        "eval.feature_scale=none", "eval.eval_chunk=77",
        "output.dir=tests/tmp/rt",
    };
    char err[CFG_ERR_MAX];

    for (size_t i = 0; i < sizeof sets / sizeof sets[0]; i++)
        if (cfg_set(c, sets[i], err, sizeof err) != 0)
            fail_msg("%s", err);
}

static void test_write_ini_then_load_gives_identical_struct(void **state)
{
    char err[CFG_ERR_MAX] = "";
    NlpcConfig a, b;
    FILE *f;

    (void)state;
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    cfg_defaults(&a);
    make_non_default(&a);
    assert_true(mkdir(TMP_DIR, 0777) == 0 || errno == EEXIST);
    f = fopen(TMP_DIR "/roundtrip.ini", "w");
    assert_non_null(f);
    cfg_write_ini(&a, f);
    assert_int_equal(fclose(f), 0);

    cfg_defaults(&b);
    if (cfg_load(&b, TMP_DIR "/roundtrip.ini", err, sizeof err) != 0)
        fail_msg("%s", err);
    assert_memory_equal(&a, &b, sizeof a);
}

static void test_to_string_matches_write_and_truncates_safely(void **state)
{
    char full[8192], small[16];
    NlpcConfig c;
    size_t need;

    (void)state;
    cfg_defaults(&c);
    need = cfg_to_string(&c, full, sizeof full);
    assert_int_equal(need, strlen(full));
    assert_contains(full, "[train]\n");
    assert_contains(full, "batch_fraction = 0.15\n");
    assert_contains(full, "dir = runs/latest\n");
    assert_int_equal(cfg_to_string(&c, small, sizeof small), need);
    assert_int_equal(strlen(small), sizeof small - 1);
    assert_int_equal(cfg_to_string(&c, NULL, 0), need);
}

static void test_help_lists_every_key(void **state)
{
    char line[512], *text;
    size_t len = 0;
    FILE *f = tmpfile();

    (void)state;
    assert_non_null(f);
    cfg_help(f);
    text = calloc(1, 65536);
    assert_non_null(text);
    rewind(f);
    while (fgets(line, sizeof line, f) && len + strlen(line) < 65535) {
        memcpy(text + len, line, strlen(line));
        len += strlen(line);
    }
    fclose(f);
    for (size_t i = 0; i < N_KEYS; i++)
        assert_contains(text, all_keys[i]);
    assert_contains(text, "sync | async");
    assert_contains(text, "in [1, 64]");
    free(text);
}

/* ---- cross-key checks -------------------------------------------------- */

static void test_finalize_rejects_goal_beyond_nodes(void **state)
{
    char err[CFG_ERR_MAX];
    NlpcConfig c;

    (void)state;
    cfg_defaults(&c);
    c.nodes = 3;
    c.goal_node = 5;
    assert_int_equal(cfg_finalize(&c, err, sizeof err), -1);
    assert_contains(err, "network.goal_node");
    assert_contains(err, "network.nodes");
}

static void test_finalize_rejects_validation_eating_train_limit(
    void **state)
{
    char err[CFG_ERR_MAX];
    NlpcConfig c;

    (void)state;
    cfg_defaults(&c);
    c.train_limit = 100;
    c.validation = 100;
    assert_int_equal(cfg_finalize(&c, err, sizeof err), -1);
    assert_contains(err, "data.validation");
    assert_contains(err, "data.train_limit");
}

static void test_finalize_rechecks_values_set_directly(void **state)
{
    char err[CFG_ERR_MAX];
    NlpcConfig c;

    (void)state;
    cfg_defaults(&c);
    c.async_p = 0.0;
    assert_int_equal(cfg_finalize(&c, err, sizeof err), -1);
    assert_contains(err, "train.async_p must be in (0, 1]");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(
            test_defaults_match_table_and_finalize_sets_goal_to_last),
        cmocka_unit_test(test_shipped_default_config_lists_every_key),
        cmocka_unit_test(test_table1_configs_differ_only_in_their_names),
        cmocka_unit_test(
            test_shipped_default_config_loads_as_defaults_with_goal_6),
        cmocka_unit_test(test_tiny_config_loads_and_finalizes),
        cmocka_unit_test(test_unknown_key_names_key_line_and_suggestion),
        cmocka_unit_test(
            test_unknown_key_after_syntax_error_reports_first_line),
        cmocka_unit_test(test_unknown_section_is_named_with_valid_list),
        cmocka_unit_test(test_empty_unknown_section_is_still_rejected),
        cmocka_unit_test(test_wrong_type_says_what_is_expected),
        cmocka_unit_test(test_out_of_range_shows_the_range),
        cmocka_unit_test(test_bad_enum_word_lists_allowed_words),
        cmocka_unit_test(test_duplicate_key_is_an_error_naming_both_lines),
        cmocka_unit_test(test_failed_load_leaves_config_untouched),
        cmocka_unit_test(test_missing_file_is_named),
        cmocka_unit_test(test_too_long_text_is_rejected),
        cmocka_unit_test(test_set_changes_one_value),
        cmocka_unit_test(test_set_unknown_key_fails_naming_it),
        cmocka_unit_test(test_set_bad_value_fails_naming_key),
        cmocka_unit_test(test_set_malformed_says_expected_form),
        cmocka_unit_test(test_write_ini_then_load_gives_identical_struct),
        cmocka_unit_test(test_to_string_matches_write_and_truncates_safely),
        cmocka_unit_test(test_help_lists_every_key),
        cmocka_unit_test(test_finalize_rejects_goal_beyond_nodes),
        cmocka_unit_test(
            test_finalize_rejects_validation_eating_train_limit),
        cmocka_unit_test(test_finalize_rechecks_values_set_directly),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
