"""A child blocks in recv on its end of a Pipe until the parent sends."""
import multiprocessing as mp
import time


def work(conn):
    print("child received", conn.recv())
    conn.send("thanks")


if __name__ == "__main__":
    parent_conn, child_conn = mp.Pipe()
    p = mp.Process(target=work, args=(child_conn,))
    p.start()
    time.sleep(0.05)
    parent_conn.send("hello")
    print("parent received", parent_conn.recv())
    p.join()
