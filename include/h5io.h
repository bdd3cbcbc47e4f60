/*
 * h5io.h - the HDF5 plumbing that output.c and ckpt.c share: quiet error
 * printing, typed attributes, data sets, matrices stored transposed, and
 * publishing a finished file under its final name.
 *
 * Everything uses HDF5's serial API with default property lists from one
 * process: nothing here is collective or knows MPI. Nothing prints, exits
 * or formats a message: functions return 0 / a negative hid_t / an
 * H5ioStatus, and the caller words the message (so each file format keeps
 * its own). This module does not know any file layout, group name or
 * format version; that belongs to its callers.
 *
 * Matrices are column-major in memory (M(r, c) at m[r + c * rows]) and
 * stored as a rows x cols row-major data set, so h5py reads M[r][c] =
 * M(r, c). Doubles are IEEE little-endian 64-bit on disk; on such a host
 * every bit (NaN payloads, signed zeros) round-trips.
 */
#ifndef NLPC_H5IO_H
#define NLPC_H5IO_H

#include <stddef.h>
#include <stdint.h>

#include <hdf5.h>

/* What went wrong in a call that can fail in more than one way; every
 * failure is negative. */
typedef enum {
    H5IO_OK = 0,
    H5IO_NOMEM = -1,    /* malloc failed */
    H5IO_MISSING = -2,  /* no such object, or it cannot be opened */
    H5IO_SHAPE = -3,    /* not the rank or extents asked for */
    H5IO_READ = -4,     /* HDF5 failed to read it */
    H5IO_CLOSE = -5,    /* the work was done, but closing it failed */
    H5IO_SYNC = -6,     /* fsync of the temporary file failed */
    H5IO_RENAME = -7,   /* rename onto the final name failed */
    H5IO_DIRSYNC = -8   /* renamed, but fsync of the directory failed */
} H5ioStatus;

/* HDF5's own error printing, as it was before h5io_mute. */
typedef struct {
    H5E_auto2_t func;
    void *data;
    int saved;
} H5ioQuiet;

/* ---- error printing and files ------------------------------------------ */

/* Save HDF5's automatic error printing into q and switch it off, so that
 * a failure yields only the caller's message. Never fails (at worst HDF5
 * keeps printing). Pair with h5io_unmute. */
void h5io_mute(H5ioQuiet *q);

/* Restore what h5io_mute saved in q. */
void h5io_unmute(const H5ioQuiet *q);

/* Create (truncate) the HDF5 file path. Returns its id, which the caller
 * closes with H5Fclose, or a negative id with *why (when why is not NULL)
 * set to a static text: the OS's reason if it gave one, else "HDF5
 * error". */
hid_t h5io_create(const char *path, const char **why);

/* Open path read-only. Returns its id (the caller closes it), or a
 * negative id when path is not an HDF5 file, is truncated or cannot be
 * opened. */
hid_t h5io_open_read(const char *path);

/* Create group `name` in loc. Returns its id (the caller closes it with
 * H5Gclose) or a negative id. */
hid_t h5io_create_group(hid_t loc, const char *name);

/* Open the existing group `name` of loc. Returns its id (the caller
 * closes it) or a negative id when it is missing or cannot be opened. */
hid_t h5io_open_group(hid_t loc, const char *name);

/* ---- attributes --------------------------------------------------------- */

/* Attribute writers: create attribute `name` on loc holding a scalar
 * int32, n int32 values (a 1-d list; n == 0 is refused), a scalar
 * uint64, or a fixed-length NUL-terminated string holding text. Each
 * returns 0, or -1 if any HDF5 call failed (the attribute may then exist
 * half written). The caller keeps v and text. */
int h5io_put_int(hid_t loc, const char *name, int value);
int h5io_put_ints(hid_t loc, const char *name, const int *v, size_t n);
int h5io_put_u64(hid_t loc, const char *name, uint64_t value);
int h5io_put_str(hid_t loc, const char *name, const char *text);

/* Attribute readers, the inverse of the writers: 0, or -1 when the
 * attribute is missing, holds another number of values (one for the
 * scalars, exactly n for h5io_get_ints) or cannot be read; on -1 the
 * output may be partly written. h5io_get_str accepts only a scalar
 * fixed-length string and stores a malloc'd NUL-terminated copy in *out,
 * which the caller frees; *out is untouched on failure. */
int h5io_get_int(hid_t loc, const char *name, int *value);
int h5io_get_ints(hid_t loc, const char *name, int *v, size_t n);
int h5io_get_u64(hid_t loc, const char *name, uint64_t *value);
int h5io_get_str(hid_t loc, const char *name, char **out);

/* ---- data sets and matrices --------------------------------------------- */

/* Create data set `name` in loc, stored as ftype, with `rank` extents
 * dims, and write all of buf (memory type mtype) into it. 0 or -1. */
int h5io_put_dset(hid_t loc, const char *name, hid_t ftype, hid_t mtype,
                  int rank, const hsize_t *dims, const void *buf);

/* Check that loc/name is a data set with `rank` (1 or 2) extents equal
 * to dims. With rank 1 and dims[0] == 0 any length is taken and stored in
 * dims[0]; on failure dims is untouched. H5IO_OK, H5IO_MISSING,
 * H5IO_SHAPE (also for a rank other than 1 or 2) or H5IO_CLOSE. */
H5ioStatus h5io_dset_shape(hid_t loc, const char *name, int rank,
                           hsize_t *dims);

/* Check loc/name as h5io_dset_shape does and read all of it into buf
 * (the caller's, large enough) as mtype. H5IO_OK, H5IO_MISSING,
 * H5IO_SHAPE, H5IO_READ, or H5IO_CLOSE (buf was filled). */
H5ioStatus h5io_get_dset(hid_t loc, const char *name, hid_t mtype,
                         int rank, hsize_t *dims, void *buf);

/* Write the column-major rows x cols matrix a as data set `name` of loc
 * (rows x cols, IEEE f64 LE). scratch is the caller's buffer of rows *
 * cols doubles, overwritten. 0 or -1. */
int h5io_put_matrix(hid_t loc, const char *name, const double *a,
                    int rows, int cols, double *scratch);

/* Read data set `name` of loc, which must be rows x cols, into a fresh
 * malloc'd column-major matrix *out that the caller frees. *out is set
 * only on H5IO_OK. Failures as h5io_get_dset, plus H5IO_NOMEM. */
H5ioStatus h5io_get_matrix(hid_t loc, const char *name, int rows, int cols,
                           double **out);

/* ---- publishing --------------------------------------------------------- */

/* "<path>.tmp" in a fresh malloc'd buffer that the caller frees; NULL on
 * no memory. */
char *h5io_tmp_name(const char *path);

/* Give the complete, closed file tmp its final name path. With dir NULL
 * only rename. With dir (the directory holding both) first fsync tmp,
 * rename, then fsync dir so the rename survives a crash; a file system
 * that cannot sync directories (EINVAL) is accepted. H5IO_OK, or the
 * first step that failed (H5IO_SYNC, H5IO_RENAME, H5IO_DIRSYNC) with
 * errno telling why. tmp is never removed here: on H5IO_SYNC or
 * H5IO_RENAME it is still there for the caller to unlink. */
H5ioStatus h5io_publish(const char *tmp, const char *path,
                        const char *dir);

#endif
