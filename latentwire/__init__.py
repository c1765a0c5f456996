"""The ``latentwire`` command line and demo: flags and environment variables mapped onto the library.

The library lives below this package: ``compressor`` (compression, no Kafka), ``streaming`` (Kafka
plumbing), ``producers`` and ``consumers``. Nothing there imports from here.
"""

from compressor import __version__

__all__ = ["__version__"]
