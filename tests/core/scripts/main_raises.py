"""The main process raises after its child ends: the traceback and exit code are Python's."""
import multiprocessing as mp


def work():
    print("child ran")


if __name__ == "__main__":
    p = mp.Process(target=work)
    p.start()
    p.join()
    raise RuntimeError("the main process failed")
