"""A producer puts three items on a Queue; the consumer blocks on get until each arrives."""
import multiprocessing as mp
import time


def produce(jobs):
    for n in range(3):
        time.sleep(0.02)
        jobs.put(n)
    jobs.put(None)


def consume(jobs, done):
    while (item := jobs.get()) is not None:
        print("got", item)
    done.put("finished")


if __name__ == "__main__":
    jobs = mp.Queue()
    done = mp.SimpleQueue()
    procs = [mp.Process(target=produce, args=(jobs,)), mp.Process(target=consume, args=(jobs, done))]
    for p in procs:
        p.start()
    print(done.get())
    for p in procs:
        p.join()
