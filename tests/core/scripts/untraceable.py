"""What cannot be traced: a RawValue written twice, a Manager's Queue used twice. The script runs unchanged."""
import multiprocessing as mp

if __name__ == "__main__":
    raw = mp.RawValue("i", 0)
    raw.value = 1
    other = mp.RawValue("i", 2)
    with mp.Manager() as manager:
        q1, q2 = manager.Queue(), manager.Queue()
        q1.put(raw.value + other.value)
        print("got", q1.get(), q2.empty())
