"""One BoundedSemaphore slot, taken by the parent: the child waits for it, then takes it."""
import multiprocessing as mp


def work(slot, tried):
    print("first try", slot.acquire(timeout=0.05))
    tried.set()
    with slot:
        print("the child is in the slot")


if __name__ == "__main__":
    slot = mp.BoundedSemaphore(1)
    tried = mp.Event()
    slot.acquire()
    p = mp.Process(target=work, args=(slot, tried))
    p.start()
    tried.wait()
    slot.release()
    p.join()
