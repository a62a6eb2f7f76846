"""Bundles libsmol_ssh.so, built by cargo from the checkout this folder belongs to, as
smol_ssh/_libsmol_ssh*.so (see pyproject.toml). The package works without it when the library
is installed: SMOL_SSH_BUNDLE=0 skips the build, and so does a source tree without Cargo.toml."""

import os
import sys

from setuptools import setup

HERE = os.path.dirname(os.path.abspath(__file__))
MANIFEST = os.path.normpath(os.path.join(HERE, "..", "..", "Cargo.toml"))

extensions = []
if os.environ.get("SMOL_SSH_BUNDLE", "1") != "0" and os.path.exists(MANIFEST):
    from setuptools_rust import Binding, RustExtension, Strip

    extensions.append(
        RustExtension(
            "smol_ssh._libsmol_ssh",
            path=MANIFEST,
            # The C library as `make` builds it (`cargo rustc --lib --crate-type cdylib`); the
            # wheel carries it and the package loads it with ctypes.
            binding=Binding.NoBinding,
            debug=False,
            strip=Strip.Debug,  # the wheel carries no debug info (8.8 MB -> 1.2 MB)
        )
    )
elif os.environ.get("SMOL_SSH_BUNDLE", "1") != "0":
    print(f"smol_ssh: {MANIFEST} not found: not bundling the library", file=sys.stderr)

try:
    from setuptools.command.bdist_wheel import bdist_wheel
except ImportError:  # setuptools < 70.1
    from wheel.bdist_wheel import bdist_wheel


class PlatformWheel(bdist_wheel):
    """The bundled library is loaded with ctypes, not imported as an extension: one wheel
    serves every Python 3 on the platform (py3-none-<platform>)."""

    def finalize_options(self):
        super().finalize_options()
        self.root_is_pure = not extensions

    def get_tag(self):
        _, _, platform = super().get_tag()
        return "py3", "none", platform


cmdclass = {"bdist_wheel": PlatformWheel} if extensions else {}
setup(rust_extensions=extensions, cmdclass=cmdclass, zip_safe=False)
