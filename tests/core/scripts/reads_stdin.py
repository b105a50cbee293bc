"""Reads its standard input, as `python reads_stdin.py < file` would."""
import sys

if __name__ == "__main__":
    print("read", sys.stdin.read().strip().upper())
