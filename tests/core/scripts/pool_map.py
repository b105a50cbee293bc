"""Pool(2): map, apply_async and imap_unordered over small inputs."""
import multiprocessing as mp


def square(x):
    return x * x


def add(a, b):
    return a + b


if __name__ == "__main__":
    with mp.Pool(2) as pool:
        print("map", pool.map(square, range(4)))
        print("apply_async", pool.apply_async(square, (5,)).get())
        print("starmap", pool.starmap(add, [(1, 2), (3, 4)]))
        print("imap_unordered", sorted(pool.imap_unordered(square, range(3))))
