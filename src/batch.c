/*
 * batch.c - stratified batches for rank 0 (see batch.h).
 */
#include "batch.h"

#include <stdlib.h>
#include <string.h>

struct Batcher {
    const DataSet *s;
    int K;
    int *idx[DATA_CLASSES];     /* image indices of each class */
    int count[DATA_CLASSES];
    int take[DATA_CLASSES];     /* images of each class per batch */
    int *chosen;                /* K indices of the current batch */
    Rng rng;
};

/* how many of each class a batch of K takes: proportional, remainders to
 * the largest fractional parts (ties to the lowest class) */
static void batch_quota(Batcher *b)
{
    double frac[DATA_CLASSES];
    int total = 0;

    for (int c = 0; c < DATA_CLASSES; c++) {
        double want = (double)b->K * b->count[c] / b->s->count;

        b->take[c] = (int)want;
        frac[c] = want - b->take[c];
        total += b->take[c];
    }
    while (total < b->K) {
        int best = -1;

        for (int c = 0; c < DATA_CLASSES; c++)
            if (b->take[c] < b->count[c]
                && (best < 0 || frac[c] > frac[best]))
                best = c;
        b->take[best]++;
        frac[best] = -1.0;
        total++;
    }
}

Batcher *batch_new(const DataSet *s, int K, unsigned long seed)
{
    Batcher *b = calloc(1, sizeof(*b));

    if (!b)
        return NULL;
    b->s = s;
    b->K = K < s->count ? K : s->count;
    for (int i = 0; i < s->count; i++)
        b->count[s->y[i]]++;
    for (int c = 0; c < DATA_CLASSES; c++) {
        b->idx[c] = malloc((size_t)(b->count[c] + 1) * sizeof(int));
        if (!b->idx[c]) {
            batch_free(b);
            return NULL;
        }
        b->count[c] = 0;
    }
    for (int i = 0; i < s->count; i++)
        b->idx[s->y[i]][b->count[s->y[i]]++] = i;
    b->chosen = malloc((size_t)b->K * sizeof(int));
    if (!b->chosen) {
        batch_free(b);
        return NULL;
    }
    batch_quota(b);
    rng_init(&b->rng, seed, RNG_STREAM_BATCH);
    return b;
}

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;

    return (x > y) - (x < y);
}

void batch_draw(Batcher *b, double *X, int *label)
{
    size_t dim = (size_t)b->s->dim;
    int k = 0;

    for (int c = 0; c < DATA_CLASSES; c++) {
        int *idx = b->idx[c];

        /* partial Fisher-Yates: the first take[c] become a uniform draw */
        for (int i = 0; i < b->take[c]; i++) {
            int j = i + (int)rng_below(&b->rng, b->count[c] - i);
            int t = idx[i];

            idx[i] = idx[j];
            idx[j] = t;
            b->chosen[k++] = idx[i];
        }
    }
    qsort(b->chosen, (size_t)b->K, sizeof(int), cmp_int);
    for (int i = 0; i < b->K; i++) {
        int s = b->chosen[i];

        label[i] = b->s->y[s];
        memcpy(X + (size_t)i * dim, b->s->x + (size_t)s * dim,
               dim * sizeof(double));
    }
}

void batch_get_state(const Batcher *b, int rng[4], int *perm)
{
    int k = 0;

    memcpy(rng, b->rng.iseed, sizeof(b->rng.iseed));
    for (int c = 0; c < DATA_CLASSES; c++)
        for (int i = 0; i < b->count[c]; i++)
            perm[k++] = b->idx[c][i];
}

int batch_set_state(Batcher *b, const int rng[4], const int *perm, int len)
{
    int k = 0;

    if (len != b->s->count)
        return -1;
    /* every index must stay in its own class's list */
    for (int c = 0; c < DATA_CLASSES; c++)
        for (int i = 0; i < b->count[c]; i++, k++)
            if (perm[k] < 0 || perm[k] >= len || b->s->y[perm[k]] != c)
                return -1;
    k = 0;
    for (int c = 0; c < DATA_CLASSES; c++)
        for (int i = 0; i < b->count[c]; i++)
            b->idx[c][i] = perm[k++];
    memcpy(b->rng.iseed, rng, sizeof(b->rng.iseed));
    return 0;
}

void batch_free(Batcher *b)
{
    if (!b)
        return;
    for (int c = 0; c < DATA_CLASSES; c++)
        free(b->idx[c]);
    free(b->chosen);
    free(b);
}
