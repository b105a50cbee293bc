"""Starts a process at the top level, without the main guard: a spawned child re-runs this line."""
import multiprocessing as mp


def work():
    print("work ran")


p = mp.Process(target=work)
p.start()
p.join()
print("exit code of the child", p.exitcode)
