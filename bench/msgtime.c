/*
 * msgtime.c - the time of one point-to-point message of the trainer's
 * size between two ranks, the message cost of the scaling model in
 * bench/bench.py.
 *
 *   mpirun -np 2 bin/msgtime [count reps]   (default 784 * 8250 doubles, 5)
 *
 * Rank 0 sends count doubles to rank 1, which sends them back; after one
 * warm-up round trip it times reps round trips and prints half the mean
 * round trip as the one-way time. It first checks that the block came
 * back unchanged. Blocking MPI_Send/MPI_Recv: what the ranks do when they
 * wait is not part of the measurement.
 */
#include <mpi.h>

#include <stdio.h>
#include <stdlib.h>

/* one round trip of buf between ranks 0 and 1 */
static void round_trip(double *buf, int count, int rank)
{
    if (rank == 0) {
        MPI_Send(buf, count, MPI_DOUBLE, 1, 1, MPI_COMM_WORLD);
        MPI_Recv(buf, count, MPI_DOUBLE, 1, 2, MPI_COMM_WORLD,
                 MPI_STATUS_IGNORE);
    } else {
        MPI_Recv(buf, count, MPI_DOUBLE, 0, 1, MPI_COMM_WORLD,
                 MPI_STATUS_IGNORE);
        MPI_Send(buf, count, MPI_DOUBLE, 0, 2, MPI_COMM_WORLD);
    }
}

int main(int argc, char **argv)
{
    long count = argc > 1 ? atol(argv[1]) : 784L * 8250;
    int reps = argc > 2 ? atoi(argv[2]) : 5, rank, size, bad = 0;
    double *buf, t0;

    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    if (size != 2 || count < 1 || count > 1L << 30 || reps < 1) {
        if (rank == 0)
            fprintf(stderr, "usage: mpirun -np 2 %s [count reps]: exactly "
                    "2 ranks, 1 <= count <= 2^30, reps >= 1\n", argv[0]);
        MPI_Finalize();
        return 2;
    }
    buf = malloc((size_t)count * sizeof(double));
    if (!buf)
        MPI_Abort(MPI_COMM_WORLD, 1);
    for (long i = 0; i < count; i++)
        buf[i] = rank == 0 ? (double)(i % 1009) : -1.0;

    /* the warm-up trip doubles as the check */
    round_trip(buf, (int)count, rank);
    for (long i = 0; rank == 0 && i < count; i++)
        bad |= buf[i] != (double)(i % 1009);
    MPI_Bcast(&bad, 1, MPI_INT, 0, MPI_COMM_WORLD);
    if (bad) {
        if (rank == 0)
            fprintf(stderr, "msgtime: the block came back changed\n");
        MPI_Finalize();
        return 1;
    }
    MPI_Barrier(MPI_COMM_WORLD);
    t0 = MPI_Wtime();
    for (int r = 0; r < reps; r++)
        round_trip(buf, (int)count, rank);
    t0 = (MPI_Wtime() - t0) / (2.0 * reps);
    if (rank == 0)
        printf("msgtime %ld bytes  one-way %.6f s  %.3f GB/s\n",
               8 * count, t0, 8.0 * (double)count / t0 / 1e9);
    free(buf);
    MPI_Finalize();
    return 0;
}
