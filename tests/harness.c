/*
 * harness.c - what the whole-run tests share: a tiny synthetic data set in
 * IDX files, running bin/nlpc_mpi under mpirun, and comparing the weights
 * two runs wrote.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "harness.h"
#include "output.h"
#include "rng.h"

#define DIM 32

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

int harness_setup(void **state)
{
    Rng r;

    (void)state;
    /* every run starts afresh: no checkpoints of an earlier suite */
    if (system("rm -rf " TMP " && mkdir -p " DATA) != 0)
        return -1;
    harness_env();
    rng_init(&r, 11, 1);
    write_images(DATA "/train-images-idx3-ubyte", 400, &r);
    write_labels(DATA "/train-labels-idx1-ubyte", 400);
    write_images(DATA "/t10k-images-idx3-ubyte", 100, &r);
    write_labels(DATA "/t10k-labels-idx1-ubyte", 100);
    return 0;
}

/* run a shell command, its output into log; returns its exit status */
int run(const char *cmd, const char *log)
{
    char full[1400];
    int st;

    snprintf(full, sizeof(full), "%s > %s 2>&1", cmd, log);
    st = system(full);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

int file_mentions(const char *path, const char *text)
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
void train_with(int np, const char *out, const char *extra)
{
    char cmd[1024], log[256];

    snprintf(cmd, sizeof(cmd), MPIRUN "-np %d " PROG
             "--set output.dir=%s %s configs/tiny.ini", np, out, extra);
    snprintf(log, sizeof(log), "%s.log", out);
    assert_int_equal(run(cmd, log), 0);
}

void assert_same_weights(const char *a, const char *b)
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

void assert_weights_differ(const char *a, const char *b)
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


void harness_env(void)
{
    /* what `make check` exports, so that a test program also runs alone:
     * root in CI, 3 ranks on 2 cores, one BLAS thread per rank */
    setenv("OMPI_ALLOW_RUN_AS_ROOT", "1", 0);
    setenv("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1", 0);
    setenv("OMPI_MCA_rmaps_base_oversubscribe", "1", 0);
    setenv("OMPI_MCA_mpi_yield_when_idle", "1", 0);
    setenv("OPENBLAS_NUM_THREADS", "1", 0);
}

double *harness_randn(int len, unsigned long seed, unsigned stream)
{
    double *x = malloc((size_t)len * sizeof(double));
    Rng r;

    rng_init(&r, seed, stream);
    rng_normal(&r, x, len);
    return x;
}

unsigned char *harness_slurp(const char *path, long *len)
{
    FILE *f = fopen(path, "rb");
    unsigned char *buf;

    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    *len = ftell(f);
    rewind(f);
    buf = malloc((size_t)*len + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)*len, f), (size_t)*len);
    fclose(f);
    buf[*len] = 0;
    return buf;
}
