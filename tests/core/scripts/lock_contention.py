"""The parent holds a Lock: the child waits for it (in vain, then again until it gets it)."""
import multiprocessing as mp


def work(lock, tried):
    got = lock.acquire(timeout=0.05)  # the parent holds it: this one times out
    print("first try", got)
    tried.set()
    with lock:
        print("the child has the lock")


if __name__ == "__main__":
    lock = mp.Lock()
    tried = mp.Event()
    lock.acquire()
    p = mp.Process(target=work, args=(lock, tried))
    p.start()
    tried.wait()
    lock.release()
    p.join()
