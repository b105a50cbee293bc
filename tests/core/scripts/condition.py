"""A worker waits on a Condition for a shared flag; the parent sets it and notifies."""
import multiprocessing as mp


def work(cond, flag):
    with cond:
        cond.wait(timeout=0.02)
        cond.wait_for(lambda: flag.value == 1)
        print("notified, flag", flag.value)


if __name__ == "__main__":
    cond = mp.Condition()
    flag = mp.Value("i", 0)
    p = mp.Process(target=work, args=(cond, flag))
    p.start()
    with cond:
        flag.value = 1
        cond.notify_all()
    p.join()
