"""Two processes take turns holding one Lock."""
import multiprocessing as mp
import time


def work(lock, n):
    with lock:
        time.sleep(0.03)
        print("worker", n, "had the lock")


if __name__ == "__main__":
    lock = mp.Lock()
    procs = [mp.Process(target=work, args=(lock, n)) for n in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join()
