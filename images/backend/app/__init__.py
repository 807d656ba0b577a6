"""Reference API for the stackctl default stack: PostGIS stops, cached in Redis."""

VERSION = "1.0.0"
