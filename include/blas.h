/*
 * blas.h - make sure OpenBLAS runs its fast kernels on this CPU.
 */
#ifndef NLPC_BLAS_H
#define NLPC_BLAS_H

/* When OpenBLAS fell back to its generic Prescott kernels on a CPU with
 * AVX2 or AVX-512 (it does not recognise some virtualised CPUs), set
 * OPENBLAS_CORETYPE and execute the program again with the same argv; it
 * must be the first thing main does, before MPI_Init. Returns only when no
 * change is needed, when OPENBLAS_CORETYPE is already set by the user, or
 * (with a WARNING on stderr) when the re-execution failed. */
void blas_pick_kernels(char **argv);

#endif
