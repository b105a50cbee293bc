"""A deliberately broken entry point: no ``multiprocessing.freeze_support()``.

Built only as the negative control of the packaging tests (PROCSCOPE_BROKEN_BUILD=1): a frozen
app built from it re-enters ``main()`` in every spawned child, and the re-entry check must say so.
"""

if __name__ == "__main__":
    from app.main import main

    raise SystemExit(main())
