/*
 * blas.c - choosing OpenBLAS's kernels before anything else runs.
 */
#include "blas.h"

#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* OpenBLAS 0.3.21 does not recognise some virtualised AVX-512 CPUs (such
 * as the one this project is developed on) and falls back to its Prescott
 * kernels, 3-5x slower. The kernel set is chosen when the library loads,
 * so the only remedy from inside is to set OPENBLAS_CORETYPE and execute
 * the program again, before MPI_Init. A user's own setting always wins. */
void blas_pick_kernels(char **argv)
{
    const char *core = NULL;

    if (getenv("OPENBLAS_CORETYPE")
        || strcmp(openblas_get_corename(), "Prescott") != 0)
        return;
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f"))
        core = "SkylakeX";
    else if (__builtin_cpu_supports("avx2"))
        core = "Haswell";
    if (!core)
        return;
    setenv("OPENBLAS_CORETYPE", core, 1);
    execv("/proc/self/exe", argv);
    fprintf(stderr, "WARNING: OpenBLAS uses its slow generic kernels; "
            "set OPENBLAS_CORETYPE=%s before running\n", core);
}

