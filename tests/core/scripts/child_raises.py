"""A child raises; the parent reports its exit code."""
import multiprocessing as mp


def fail():
    raise ValueError("boom in the child")


if __name__ == "__main__":
    p = mp.Process(target=fail, name="Failer")
    p.start()
    p.join()
    print("child exit code", p.exitcode)
    raise SystemExit(p.exitcode + 4)
