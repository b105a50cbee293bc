"""A child that never ends; the parent joins it for ever (ended only by --timeout)."""
import multiprocessing as mp
import time


def forever():
    print("child started", flush=True)
    while True:
        time.sleep(0.05)


if __name__ == "__main__":
    p = mp.Process(target=forever, name="Forever")
    p.start()
    p.join()
