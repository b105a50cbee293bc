"""A Manager's Lock, Value and dict, used by two workers."""
import multiprocessing as mp


def work(lock, total, scores, n):
    with lock:
        total.value = total.value + 1
        scores[f"w{n}"] = n + 10


if __name__ == "__main__":
    with mp.Manager() as manager:
        lock = manager.Lock()
        total = manager.Value("i", 0)
        scores = manager.dict()
        procs = [mp.Process(target=work, args=(lock, total, scores, n)) for n in range(2)]
        for p in procs:
            p.start()
        for p in procs:
            p.join()
        print("total", total.value, "scores", sorted(scores.items()))
