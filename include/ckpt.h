/*
 * ckpt.h - checkpoints for a bit-exact resume of a training run.
 *
 * Rank 0 gathers the whole trainer state into a CkptState and calls these;
 * nothing here is collective and nothing here knows MPI. A checkpoint is
 * one HDF5 file <dir>/ckpt-<iteration, 8 digits>.h5 that appears only once
 * complete (written under a ".tmp" name, fsync'd, renamed).
 *
 * File layout (format_version 1):
 *   root attributes  format_version, nodes, width, batch, iteration (int32),
 *                    seed (uint64), rng_batch, rng_sched (int32[4]),
 *                    config, fingerprint (fixed-length NUL-terminated
 *                    strings, each below 64 KiB)
 *   /weights/A<l>    width x width, l = 0 .. nodes-1
 *   /state/A_prev<l> width x width
 *   /state/B<l>      width x width, only where B[l] != NULL
 *   /state/Yprev<l>  width x batch, only where Yprev[l] != NULL
 *   /state/have_yprev  int32[nodes]
 *   /state/perm      int32[perm_len]
 * Matrices are column-major in memory and stored so that h5py reads M[r][c]
 * = M(r, c): A[r][c] as in the math, Yprev[r][k] = row r of sample k.
 */
#ifndef NLPC_CKPT_H
#define NLPC_CKPT_H

#include <stddef.h>

#define CKPT_FORMAT_VERSION 1

/* The trainer state a resume needs. The writer only reads it (the caller
 * owns every array); ckpt_read fills one that ckpt_state_free releases.
 * config and fingerprint are NUL-terminated texts. */
typedef struct {
    int nodes, width, batch;     /* L, n, K */
    int iteration;               /* iterations completed */
    unsigned long seed;
    double **A;                  /* nodes arrays of width*width, column-major */
    double **A_prev;             /* nodes arrays of width*width */
    double **B;                  /* nodes entries, each NULL or width*width */
    double **Yprev;              /* nodes entries, each NULL or width*batch */
    int *have_yprev;             /* nodes flags */
    int rng_batch[4];            /* dlarnv states */
    int rng_sched[4];
    int *perm;                   /* batch sampler index lists, perm_len ints */
    int perm_len;
    char *config;                /* resolved configuration text */
    char *fingerprint;           /* the part of it a resume must match */
} CkptState;

/* Write <dir>/ckpt-<iteration, 8 digits>.h5 via a ".tmp" name in dir, fsync
 * it, rename; then delete the oldest ckpt-*.h5 beyond `keep` (keep >= 1).
 * The previous checkpoints are never touched before the new one is
 * complete. The file just written is never deleted and counts as one of
 * the `keep`; the others kept are the newest by iteration, even ones of
 * later iterations than this file (left by an earlier run).
 * Refuses a state with a NULL A[l] or A_prev[l], have_yprev[l] set without
 * Yprev[l], or a non-positive shape. 0, or -1 with a message in err: on a
 * failure before the rename no new file and no .tmp remain; a message
 * starting "<new file>: written, but" means only pruning failed.
 * Not collective: rank 0 only. */
int ckpt_write(const char *dir, int keep, const CkptState *s, char *err,
               size_t errlen);

/* Read a checkpoint written by ckpt_write into s (allocates every array;
 * free with ckpt_state_free; s is untouched on failure). Refuses: not
 * HDF5/truncated, format_version != CKPT_FORMAT_VERSION, missing datasets,
 * shape mismatch between attributes and datasets, have_yprev[l] set
 * without /state/Yprev<l>. 0 or -1 with a message naming the file and the
 * problem. Not collective: rank 0 only. */
int ckpt_read(const char *path, CkptState *s, char *err, size_t errlen);

/* Check a read state against what this run expects: nodes, width, batch,
 * and fingerprint (string equality; on mismatch name the FIRST differing
 * line of the two fingerprints in the message, e.g. "checkpoint has
 * 'l2 = 34', this run 'l2 = 1'"). `path` only names the checkpoint in the
 * message. 0 or -1 with err. Not collective. */
int ckpt_check(const CkptState *s, int nodes, int width, int batch,
               const char *fingerprint, const char *path, char *err,
               size_t errlen);

/* List <dir>/ckpt-*.h5 (not .tmp; regular files named ckpt-<digits>.h5)
 * newest first by the iteration in the name: returns count (0 if none or
 * no dir; -1 on no memory or a directory read error), paths
 * "<dir>/<name>" malloc'd in *paths (free each and the array; *paths is
 * NULL when the count is not positive). */
int ckpt_list(const char *dir, char ***paths);

/* Delete the partial checkpoints (ckpt-*.h5.tmp) a killed writer left in
 * dir; returns how many. Call it when no writer runs. Not collective. */
int ckpt_remove_partial(const char *dir);

/* Frees what ckpt_read allocated and zeroes s; NULL or a zeroed s is a
 * no-op. Never call it on a state whose arrays the caller owns. */
void ckpt_state_free(CkptState *s);

#endif
