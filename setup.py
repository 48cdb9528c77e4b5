"""Builds the one compiled module, kokokara.shipping.server.fast._quotekernel (see its docstring for why).

Everything else is in pyproject.toml. The module is optional: where it cannot be compiled (no C
compiler) the install still succeeds, with a warning, and the service answers every quote through
the Python path, which gives the same bytes (the start-up log says which path serves).
"""

import os

from Cython.Build import cythonize
from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext


class OptionalBuildExt(build_ext):
    """build_ext that warns instead of failing: setuptools' Extension(optional=True) is not honoured
    by every install mode (editable installs fail on it)."""

    def build_extension(self, ext: Extension) -> None:
        try:
            super().build_extension(ext)
        except Exception as error:  # noqa: BLE001 - any compiler failure leaves the Python path
            self.warn(f"could not build {ext.name} ({error}); quotes will take the slower Python path")

    def _built(self) -> list[Extension]:
        return [ext for ext in self.extensions if os.path.exists(os.path.join(self.build_lib, self.get_ext_filename(ext.name)))]

    def get_outputs(self) -> list[str]:
        return [path for path in super().get_outputs() if os.path.exists(path)]

    def copy_extensions_to_source(self) -> None:  # editable installs: only what was built
        self.extensions = self._built()
        super().copy_extensions_to_source()


setup(
    ext_modules=cythonize(
        [Extension("kokokara.shipping.server.fast._quotekernel", ["kokokara/shipping/server/fast/_quotekernel.pyx"], extra_compile_args=["-O2"])],
        compiler_directives={"language_level": "3"},
    ),
    cmdclass={"build_ext": OptionalBuildExt},
)
