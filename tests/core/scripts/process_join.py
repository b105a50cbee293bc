"""A child reports who it is; the parent joins it."""
import multiprocessing as mp
import os


def hello():
    print(f"child {mp.current_process().name} pid={os.getpid()} ppid={os.getppid()} main={__name__}")


if __name__ == "__main__":
    p = mp.Process(target=hello, name="Greeter")
    p.start()
    p.join()
    print(f"parent done, exitcode={p.exitcode}")
