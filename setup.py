"""Builds the one compiled module, kokokara.shipping._quotekernel (see its docstring for why).

Everything else is in pyproject.toml. The extension is optional: without a C compiler the install
still succeeds and the service answers every quote through the Python path (it logs that it does).
"""

from Cython.Build import cythonize
from setuptools import Extension, setup

setup(
    ext_modules=cythonize(
        [Extension("kokokara.shipping._quotekernel", ["kokokara/shipping/_quotekernel.pyx"], extra_compile_args=["-O2"], optional=True)],
        compiler_directives={"language_level": "3"},
    )
)
