"""Starts a child that sleeps long and leaves without joining it (os._exit skips the join at exit)."""
import multiprocessing as mp
import os
import time

if __name__ == "__main__":
    child = mp.Process(target=time.sleep, args=(30,), name="Sleeper")  # time.sleep is pickled by name
    child.start()
    print("leaving", flush=True)
    os._exit(0)
