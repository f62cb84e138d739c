"""foiawatch: archive FOIA libraries, detect takedowns, recover removed documents."""

__version__ = "0.1.0"
