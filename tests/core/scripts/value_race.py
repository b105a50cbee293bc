"""Two processes add 1 to a shared Value without a lock: both read 0, both write 1 (a lost update)."""
import multiprocessing as mp


def add_one(counter, barrier, slots, n):
    barrier.wait()
    seen = counter.value
    barrier.wait()  # both have read before either writes
    counter.value = seen + 1
    slots[n] = seen + 1


if __name__ == "__main__":
    counter = mp.Value("i", 0)
    slots = mp.Array("i", 2)
    barrier = mp.Barrier(2)
    procs = [mp.Process(target=add_one, args=(counter, barrier, slots, n)) for n in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    print("counter", counter.value, "expected 2")
