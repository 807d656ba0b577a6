"""stackctl: your own docker compose web stack, from a laptop to production."""

try:  # written by setuptools-scm from the git tag when stackctl is installed (pyproject.toml)
    from stackctl._version import version as __version__
except ImportError:  # a source tree never installed
    __version__ = "0.0.0+unknown"
