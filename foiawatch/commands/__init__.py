"""Every ``foiawatch`` command, one module per area (Scrapy's ``scrapy/commands`` is the model), with the options
they share in ``options``. A command parses its arguments, calls the subsystem that does the work, and renders what
it returns; the rules and the SQL live below. Nothing below this package imports click or rich."""
