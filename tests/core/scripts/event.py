"""A worker waits on an Event until the parent sets it."""
import multiprocessing as mp
import time


def work(ready):
    ready.wait()
    print("the event was set")


if __name__ == "__main__":
    ready = mp.Event()
    p = mp.Process(target=work, args=(ready,))
    p.start()
    time.sleep(0.05)
    ready.set()
    p.join()
