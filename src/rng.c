/*
 * rng.c - random streams over LAPACK's dlarnv (see rng.h).
 */
#include "rng.h"

#include <lapacke.h>
#include <math.h>

/* dlarnv wants iseed[i] in 0..4095 and iseed[3] odd. Spread the seed and
 * the stream number over the four 12-bit words with a 64-bit mix so that
 * nearby seeds give unrelated streams. */
void rng_init(Rng *r, unsigned long seed, unsigned stream)
{
    uint64_t z = (uint64_t)seed * 0x9E3779B97F4A7C15ull
                 + (uint64_t)stream * 0xBF58476D1CE4E5B9ull;

    z ^= z >> 30;
    z *= 0xBF58476D1CE4E5B9ull;
    z ^= z >> 27;
    z *= 0x94D049BB133111EBull;
    z ^= z >> 31;
    for (int i = 0; i < 4; i++)
        r->iseed[i] = (int)((z >> (12 * i)) & 4095u);
    r->iseed[3] |= 1;
}

void rng_normal(Rng *r, double *x, int n)
{
    if (n > 0)
        LAPACKE_dlarnv(3, r->iseed, n, x);
}

void rng_uniform(Rng *r, double *x, int n)
{
    if (n > 0)
        LAPACKE_dlarnv(1, r->iseed, n, x);
}

long rng_below(Rng *r, long n)
{
    double u;
    long k;

    rng_uniform(r, &u, 1);
    k = (long)floor(u * (double)n);
    return k < n ? k : n - 1;
}

void rng_shuffle(Rng *r, int *idx, int n)
{
    for (int i = n - 1; i > 0; i--) {
        int j = (int)rng_below(r, i + 1);
        int t = idx[i];

        idx[i] = idx[j];
        idx[j] = t;
    }
}
