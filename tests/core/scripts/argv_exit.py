"""Reads sys.argv: prints it and exits with the code it is given."""
import os
import sys

if __name__ == "__main__":
    print("argv", sys.argv[1:], "script", os.path.basename(sys.argv[0]), "path0", os.path.basename(sys.path[0]))
    sys.exit(int(sys.argv[1]))
