"""Two workers meet at a Barrier; the first to arrive waits for the other."""
import multiprocessing as mp
import time


def work(barrier, n):
    time.sleep(0.05 * n)
    barrier.wait()
    print("worker", n, "passed the barrier")


if __name__ == "__main__":
    barrier = mp.Barrier(2)
    procs = [mp.Process(target=work, args=(barrier, n)) for n in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join()
