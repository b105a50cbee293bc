"""Imports its own ``app`` module, in the parent and in a child."""
import multiprocessing as mp

import app


def work(q):
    q.put(app.hello())


if __name__ == "__main__":
    q = mp.Queue()
    p = mp.Process(target=work, args=(q,))
    p.start()
    print(q.get(), app.hello() == "the student's own app module")
    p.join()
