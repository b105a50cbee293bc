"""ProcessPoolExecutor(2): submit and map."""
import multiprocessing as mp
from concurrent.futures import ProcessPoolExecutor


def cube(x):
    return x ** 3


if __name__ == "__main__":
    with ProcessPoolExecutor(2, mp_context=mp.get_context()) as pool:
        print("submit", pool.submit(cube, 2).result())
        print("map", list(pool.map(cube, range(3))))
