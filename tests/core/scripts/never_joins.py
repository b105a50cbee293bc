"""Starts a child that sleeps long and leaves without joining it (os._exit skips the join at exit).

It leaves once the child is running (the child sets an event), so the child is always there to be found;
leaving at once, the child could be ended before it had even started."""
import multiprocessing as mp
import os
import time


def sleeper(started):
    started.set()
    time.sleep(30)


if __name__ == "__main__":
    started = mp.Event()
    child = mp.Process(target=sleeper, args=(started,), name="Sleeper")
    child.start()
    started.wait(60)
    print("leaving", flush=True)
    os._exit(0)
