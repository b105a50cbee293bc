"""A child starts a grandchild of its own."""
import multiprocessing as mp


def grandchild():
    print("grandchild", mp.current_process().name, "parent", mp.parent_process().name)


def child():
    g = mp.Process(target=grandchild, name="Grandchild")
    g.start()
    g.join()


if __name__ == "__main__":
    c = mp.Process(target=child, name="Child")
    c.start()
    c.join()
