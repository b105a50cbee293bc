"""Sync primitives that do not synchronise: the invariant checks must catch them."""

from __future__ import annotations

import time

from app.core.lessons.sync import Sync


class NoEvent:
    def wait(self, timeout=None):
        return True

    def set(self):
        pass


class NoSemaphore:
    def acquire(self, *args, **kwargs):
        return True

    def release(self):
        pass


class NoBarrier:
    def wait(self, timeout=None):
        return 0


class NoCondition(NoSemaphore):
    def wait(self, timeout=None):
        time.sleep(0.001)  # returns as if notified, though nobody notified
        return True

    def notify(self, n=1):
        pass


class BrokenSync(Sync):
    def make(self, ctx, primitive, values):
        return {"event": NoEvent, "semaphore": NoSemaphore, "condition": NoCondition, "barrier": NoBarrier}[primitive]()


LESSON = BrokenSync()
