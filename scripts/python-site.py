"""Prints where `make install` puts the Python package for PREFIX: the folder of PREFIX that is
already on this Python's sys.path (Debian's /usr/local/lib/python3.X/dist-packages), else
PREFIX's site-packages (then add it to PYTHONPATH)."""
import os
import sys
import sysconfig

prefix = os.path.abspath(sys.argv[1])
on_path = [p for p in sys.path if p.startswith(prefix + "/lib/python") and p.endswith("-packages")]
if on_path:
    print(on_path[0])
else:
    print(sysconfig.get_path("purelib", "posix_prefix", vars={"base": prefix, "platbase": prefix}))
