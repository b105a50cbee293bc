"""A worker takes an RLock twice (nested) while the parent waits for it."""
import multiprocessing as mp


def work(rlock):
    with rlock:
        rlock.acquire()  # the same process takes it a second time
        print("inside twice")
        rlock.release()


if __name__ == "__main__":
    rlock = mp.RLock()
    p = mp.Process(target=work, args=(rlock,))
    p.start()
    p.join()
    with rlock:
        print("parent has it")
