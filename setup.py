"""Build the compiled Hubble reader; everything else about the package is in pyproject.toml.

The extension is optional: without a C compiler trustmap installs without it and ingest reads
Hubble JSON with DuckDB's reader instead (see trustmap.observe.formats.hubble_native).
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "trustmap.observe.formats._hubblescan",
            sources=["src/trustmap/observe/formats/_hubblescan.c"],
            extra_compile_args=["-O2", "-std=c99"],
            optional=True,
        )
    ]
)
