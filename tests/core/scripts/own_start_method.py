"""Sets its own start method: it keeps it, whatever --start-method says."""
import multiprocessing as mp


def where():
    print("child main", __name__)


if __name__ == "__main__":
    mp.set_start_method("spawn")
    p = mp.Process(target=where)
    p.start()
    p.join()
    print("method", mp.get_start_method())
