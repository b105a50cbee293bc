"""The student's own module called ``app`` (ProcScope's package has the same name)."""


def hello():
    return "the student's own app module"
